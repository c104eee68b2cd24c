/// Writes MARCXML in the MARC21 slim namespace.
public enum MARCXMLWriter {
    public static let namespace = "http://www.loc.gov/MARC21/slim"

    public static func writeHeader(into output: inout [UInt8]) {
        output.append(contentsOf: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"\(namespace)\">\n".utf8)
    }

    public static func writeFooter(into output: inout [UInt8]) {
        output.append(contentsOf: "</collection>\n".utf8)
    }

    /// Appends `text` escaped for XML content (or an attribute value); characters XML 1.0 forbids become U+FFFD.
    public static func appendEscaped(_ text: String, attribute: Bool = false, into output: inout [UInt8]) {
        var text = text
        text.withUTF8 { TextEscaping.appendXML($0, attribute: attribute, to: &output) }
    }

    /// Appends one `<record>`; `standalone` adds the namespace for a record outside a collection.
    public static func write(_ record: MARCRecord, standalone: Bool = false, into output: inout [UInt8]) {
        output.append(contentsOf: (standalone ? "<record xmlns=\"\(namespace)\">\n" : "  <record>\n").utf8)
        output.append(contentsOf: "    <leader>".utf8)
        record.leader.bytes.withUnsafeBufferPointer { TextEscaping.appendXML($0, attribute: false, to: &output) }
        output.append(contentsOf: "</leader>\n".utf8)
        record.storage.withUnsafeBufferPointer { storage in
            for entry in record.entries {
                let range = entry.range
                let tag = entry.tag.bytes
                if entry.isControl {
                    output.append(contentsOf: "    <controlfield tag=\"".utf8)
                    appendTag(tag, to: &output)
                    output.append(contentsOf: "\">".utf8)
                    TextEscaping.appendXML(UnsafeBufferPointer(rebasing: storage[range]), attribute: false, to: &output)
                    output.append(contentsOf: "</controlfield>\n".utf8)
                    continue
                }
                output.append(contentsOf: "    <datafield tag=\"".utf8)
                appendTag(tag, to: &output)
                output.append(contentsOf: "\" ind1=\"".utf8)
                appendIndicator(range.count > 0 ? storage[range.lowerBound] : 0x20, to: &output)
                output.append(contentsOf: "\" ind2=\"".utf8)
                appendIndicator(range.count > 1 ? storage[range.lowerBound + 1] : 0x20, to: &output)
                output.append(contentsOf: "\">\n".utf8)
                var position = range.lowerBound + 2
                let end = range.upperBound
                while position < end && storage[position] != MARCDelimiter.subfield { position += 1 }
                while position + 1 < end {
                    let codeAt = position + 1
                    let valueAt = codeAt + subfieldCodeLength(storage, at: codeAt, end: end)
                    var valueEnd = valueAt
                    while valueEnd < end && storage[valueEnd] != MARCDelimiter.subfield { valueEnd += 1 }
                    output.append(contentsOf: "      <subfield code=\"".utf8)
                    TextEscaping.appendXML(UnsafeBufferPointer(rebasing: storage[codeAt..<valueAt]), attribute: true, to: &output)
                    output.append(contentsOf: "\">".utf8)
                    TextEscaping.appendXML(
                        UnsafeBufferPointer(rebasing: storage[valueAt..<valueEnd]), attribute: false, to: &output)
                    output.append(contentsOf: "</subfield>\n".utf8)
                    position = valueEnd
                }
                output.append(contentsOf: "    </datafield>\n".utf8)
            }
        }
        output.append(contentsOf: (standalone ? "</record>\n" : "  </record>\n").utf8)
    }

    private static func appendTag(_ tag: (UInt8, UInt8, UInt8), to output: inout [UInt8]) {
        let bytes = [tag.0, tag.1, tag.2]
        bytes.withUnsafeBufferPointer { TextEscaping.appendXML($0, attribute: true, to: &output) }
    }

    private static func appendIndicator(_ byte: UInt8, to output: inout [UInt8]) {
        // A control character cannot appear in XML at all; a blank says the same for an indicator.
        let safe = byte < 0x20 || byte >= 0x80 ? 0x20 : byte
        withUnsafeBytes(of: safe) { TextEscaping.appendXML($0.bindMemory(to: UInt8.self), attribute: true, to: &output) }
    }
}
