/// Writes records as ISO 2709, with lengths counted in bytes.
public enum ISO2709Writer {
    /// Appends `record` to `output`. A well-formed record read from ISO 2709 comes out byte for byte.
    ///
    /// - Throws: ``MARCError`` `output` when the record cannot be expressed: a field over 9,998 bytes or a
    ///   record over 99,999 bytes. Nothing is appended then.
    public static func write(_ record: MARCRecord, into output: inout [UInt8]) throws(MARCError) {
        let entries = record.entries
        let base = Leader.length + entries.count * 12 + 1
        var dataLength = 0
        for entry in entries {
            let length = entry.range.count + 1
            if length > 9_999 {
                throw MARCError(.output, "field \(entry.tag) is \(length) bytes; ISO 2709 allows 9,999")
            }
            dataLength += length
        }
        let total = base + dataLength + 1
        if total > 99_999 {
            throw MARCError(.output, "record is \(total) bytes; ISO 2709 allows 99,999")
        }

        var leader = record.leader
        leader.setNumber(total, in: 0..<5)
        leader.setNumber(base, in: 12..<17)
        // This writer always lays out two indicators, one-byte codes, 4-digit lengths and 5-digit starts.
        // Leader/22-23 stay as they are: UNIMARC leaves 23 blank.
        leader[10] = UInt8(ascii: "2")
        leader[11] = UInt8(ascii: "2")
        leader[20] = UInt8(ascii: "4")
        leader[21] = UInt8(ascii: "5")

        output.reserveCapacity(output.count + total)
        output.append(contentsOf: leader.bytes)
        var offset = 0
        for entry in entries {
            let (a, b, c) = entry.tag.bytes
            output.append(a)
            output.append(b)
            output.append(c)
            let length = entry.range.count + 1
            appendDigits(length, count: 4, to: &output)
            appendDigits(offset, count: 5, to: &output)
            offset += length
        }
        output.append(MARCDelimiter.field)
        record.storage.withUnsafeBufferPointer { storage in
            for entry in entries {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: storage[entry.range]))
                output.append(MARCDelimiter.field)
            }
        }
        output.append(MARCDelimiter.record)
    }

    public static func data(_ record: MARCRecord) throws(MARCError) -> [UInt8] {
        var output: [UInt8] = []
        try write(record, into: &output)
        return output
    }

    private static func appendDigits(_ value: Int, count: Int, to output: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var remaining = value
        for _ in 0..<count {
            output.append(UInt8(0x30 + remaining / divisor))
            remaining %= divisor
            divisor /= 10
        }
    }
}
