/// Writes the MarcEdit-style line form cataloguers read: `=245  10$aTitle :$bsubtitle`.
/// Blanks in indicators and control fields show as `\`; a `$` in data shows as `{dollar}`.
public enum MARCTextWriter {
    public static func write(_ record: MARCRecord, into output: inout [UInt8]) {
        output.append(contentsOf: "=LDR  ".utf8)
        output.append(contentsOf: record.leader.bytes.map { $0 == 0x20 ? UInt8(ascii: "\\") : $0 })
        output.append(0x0A)
        for field in record.fields {
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: field.tag.string.utf8)
            output.append(contentsOf: "  ".utf8)
            if field.isControlField {
                for byte in field.data { output.append(byte == 0x20 ? UInt8(ascii: "\\") : byte) }
            } else {
                let data = field.data
                for byte in data.prefix(2) { output.append(byte == 0x20 ? UInt8(ascii: "\\") : byte) }
                for byte in data.dropFirst(2) {
                    switch byte {
                    case MARCDelimiter.subfield: output.append(UInt8(ascii: "$"))
                    case UInt8(ascii: "$"): output.append(contentsOf: "{dollar}".utf8)
                    default: output.append(byte)
                    }
                }
            }
            output.append(0x0A)
        }
        output.append(0x0A)
    }
}
