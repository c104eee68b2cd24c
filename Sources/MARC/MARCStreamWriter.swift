/// Writes a sequence of records in one format: the header, each record, the footer.
public struct MARCStreamWriter: Sendable {
    public let format: MARCFormat

    public init(format: MARCFormat) { self.format = format }

    public func writeHeader(into output: inout [UInt8]) {
        if format == .marcxml { MARCXMLWriter.writeHeader(into: &output) }
    }

    /// - Throws: ``MARCError`` `output` when ISO 2709 cannot express the record.
    public func write(_ record: MARCRecord, into output: inout [UInt8]) throws(MARCError) {
        switch format {
        case .iso2709: try ISO2709Writer.write(record, into: &output)
        case .marcxml: MARCXMLWriter.write(record, into: &output)
        case .json: MARCJSONWriter.write(record, into: &output)
        case .text: MARCTextWriter.write(record, into: &output)
        }
    }

    public func writeFooter(into output: inout [UInt8]) {
        if format == .marcxml { MARCXMLWriter.writeFooter(into: &output) }
    }
}

extension MARCRecord {
    /// Subfields across all data fields, counted without building any of them.
    public var subfieldCount: Int {
        if let knownSubfieldCount { return Int(knownSubfieldCount) }
        return storage.withUnsafeBytes { raw -> Int in
            var count = 0
            for entry in entries where !entry.isControl {
                var from = entry.range.lowerBound + 2
                let to = entry.range.upperBound
                while let hit = ISO2709Parser.firstIndex(of: MARCDelimiter.subfield, in: raw, from: from, to: to) {
                    count += 1
                    from = hit + 1
                }
            }
            return count
        }
    }
}
