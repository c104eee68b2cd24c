/// Writes MARC-in-JSON in the code4lib form, one record per line:
/// `{"leader":"…","fields":[{"001":"…"},{"245":{"ind1":"1","ind2":"0","subfields":[{"a":"…"}]}}]}`.
public enum MARCJSONWriter {
    /// Appends `record` and a newline. The leader is written as read; values as stored, never normalised.
    public static func write(_ record: MARCRecord, into output: inout [UInt8]) {
        writeObject(record, into: &output)
        output.append(0x0A)
    }

    /// Appends `record` as one MARC-in-JSON object, without a newline: for a record inside a larger document.
    public static func writeObject(_ record: MARCRecord, into output: inout [UInt8]) {
        output.append(contentsOf: #"{"leader":"#.utf8)
        let leader = record.leader.bytes
        leader.withUnsafeBufferPointer { TextEscaping.appendJSONString($0, to: &output) }
        output.append(contentsOf: #","fields":["#.utf8)
        record.storage.withUnsafeBufferPointer { storage in
            for (index, entry) in record.entries.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output.append(contentsOf: #"{""#.utf8)
                let (a, b, c) = entry.tag.bytes
                appendTagCharacter(a, to: &output)
                appendTagCharacter(b, to: &output)
                appendTagCharacter(c, to: &output)
                output.append(contentsOf: #"":"#.utf8)
                let range = entry.range
                if entry.isControl {
                    TextEscaping.appendJSONString(UnsafeBufferPointer(rebasing: storage[range]), to: &output)
                } else {
                    writeDataField(storage, range: range, into: &output)
                }
                output.append(UInt8(ascii: "}"))
            }
        }
        output.append(contentsOf: "]}".utf8)
    }

    /// Appends `text` as a JSON string, escaped as record values are.
    public static func writeString(_ text: String, into output: inout [UInt8]) {
        var text = text
        text.withUTF8 { TextEscaping.appendJSONString($0, to: &output) }
    }

    private static func writeDataField(_ storage: UnsafeBufferPointer<UInt8>, range: Range<Int>, into output: inout [UInt8]) {
        let ind1 = range.count > 0 ? storage[range.lowerBound] : 0x20
        let ind2 = range.count > 1 ? storage[range.lowerBound + 1] : 0x20
        output.append(contentsOf: #"{"ind1":"#.utf8)
        withUnsafeBytes(of: ind1) { TextEscaping.appendJSONString($0.bindMemory(to: UInt8.self), to: &output) }
        output.append(contentsOf: #","ind2":"#.utf8)
        withUnsafeBytes(of: ind2) { TextEscaping.appendJSONString($0.bindMemory(to: UInt8.self), to: &output) }
        output.append(contentsOf: #","subfields":["#.utf8)
        var first = true
        var position = range.lowerBound + 2
        let end = range.upperBound
        while position < end && storage[position] != MARCDelimiter.subfield { position += 1 }
        while position < end {
            let codeAt = position + 1
            guard codeAt < end else { break }
            let valueAt = codeAt + subfieldCodeLength(storage, at: codeAt, end: end)
            var valueEnd = valueAt
            while valueEnd < end && storage[valueEnd] != MARCDelimiter.subfield { valueEnd += 1 }
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output.append(UInt8(ascii: "{"))
            TextEscaping.appendJSONString(UnsafeBufferPointer(rebasing: storage[codeAt..<valueAt]), to: &output)
            output.append(UInt8(ascii: ":"))
            TextEscaping.appendJSONString(UnsafeBufferPointer(rebasing: storage[valueAt..<valueEnd]), to: &output)
            output.append(UInt8(ascii: "}"))
            position = valueEnd
        }
        output.append(contentsOf: "]}".utf8)
    }

    @inline(__always)
    private static func appendTagCharacter(_ byte: UInt8, to output: inout [UInt8]) {
        // Tags are ASCII in practice; anything else would break the key.
        if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
            output.append(byte)
        } else {
            output.append(UInt8(ascii: "?"))
        }
    }
}
