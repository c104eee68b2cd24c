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
