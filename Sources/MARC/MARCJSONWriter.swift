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
        // The record is written into space sized for its worst case, then appended once.
        let leader = record.leader.bytes
        var bound = 32 + TextEscaping.jsonStringBound(leader.count)
        for entry in record.entries { bound += fieldBound(entry.range.count) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { space in
            var writer = ByteWriter(space.baseAddress!)
            writer.write(#"{"leader":"#)
            leader.withUnsafeBufferPointer { TextEscaping.writeJSONString($0, to: &writer) }
            writer.write(#","fields":["#)
            record.storage.withUnsafeBufferPointer { storage in
                for (index, entry) in record.entries.enumerated() {
                    if index > 0 { writer.write(UInt8(ascii: ",")) }
                    writer.write(#"{""#)
                    let (a, b, c) = entry.tag.bytes
                    writeTagCharacter(a, to: &writer)
                    writeTagCharacter(b, to: &writer)
                    writeTagCharacter(c, to: &writer)
                    writer.write(#"":"#)
                    let range = entry.range
                    if entry.isControl {
                        TextEscaping.writeJSONString(UnsafeBufferPointer(rebasing: storage[range]), to: &writer)
                    } else {
                        writeDataField(storage, range: range, into: &writer)
                    }
                    writer.write(UInt8(ascii: "}"))
                }
            }
            writer.write("]}")
            assert(writer.count <= bound)
            output.append(contentsOf: writer.written)
        }
    }

    /// The most a field of `length` bytes takes: its frame (`,{"245":{"ind1":…,"subfields":[…]}}`, 57 bytes at
    /// most), and for each of its bytes six (`\u00XX`), or eight for a subfield delimiter (`,{"":""}`).
    private static func fieldBound(_ length: Int) -> Int { 57 + 8 * length }

    /// Appends `text` as a JSON string, escaped as record values are.
    public static func writeString(_ text: String, into output: inout [UInt8]) {
        var text = text
        text.withUTF8 { TextEscaping.appendJSONString($0, to: &output) }
    }

    private static func writeDataField(_ storage: UnsafeBufferPointer<UInt8>, range: Range<Int>, into output: inout ByteWriter) {
        let ind1 = range.count > 0 ? storage[range.lowerBound] : 0x20
        let ind2 = range.count > 1 ? storage[range.lowerBound + 1] : 0x20
        output.write(#"{"ind1":"#)
        withUnsafeBytes(of: ind1) { TextEscaping.writeJSONString($0.bindMemory(to: UInt8.self), to: &output) }
        output.write(#","ind2":"#)
        withUnsafeBytes(of: ind2) { TextEscaping.writeJSONString($0.bindMemory(to: UInt8.self), to: &output) }
        output.write(#","subfields":["#)
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
            if !first { output.write(UInt8(ascii: ",")) }
            first = false
            output.write(UInt8(ascii: "{"))
            TextEscaping.writeJSONString(UnsafeBufferPointer(rebasing: storage[codeAt..<valueAt]), to: &output)
            output.write(UInt8(ascii: ":"))
            TextEscaping.writeJSONString(UnsafeBufferPointer(rebasing: storage[valueAt..<valueEnd]), to: &output)
            output.write(UInt8(ascii: "}"))
            position = valueEnd
        }
        output.write("]}")
    }

    @inline(__always)
    private static func writeTagCharacter(_ byte: UInt8, to output: inout ByteWriter) {
        // Tags are ASCII in practice; anything else would break the key.
        if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
            output.write(byte)
        } else {
            output.write(UInt8(ascii: "?"))
        }
    }
}
