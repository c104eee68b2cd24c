/// What a reader yields for each record it finds: the record as recovered, and every problem found in it.
public struct MARCReadItem: Sendable {
    /// Nil when nothing could be recovered (the bytes are not a record at all).
    public var record: MARCRecord?
    public var diagnostics: [MARCDiagnostic]
    /// 1-based position in the input.
    public var recordNumber: Int
    /// Offset of the first byte in the (decompressed) input.
    public var byteOffset: Int64
    /// The bytes exactly as framed, for ISO 2709 input: what a rejected-records file gives back.
    public var rawBytes: [UInt8]?

    public init(
        record: MARCRecord?, diagnostics: [MARCDiagnostic], recordNumber: Int, byteOffset: Int64,
        rawBytes: [UInt8]? = nil
    ) {
        self.record = record
        self.diagnostics = diagnostics
        self.recordNumber = recordNumber
        self.byteOffset = byteOffset
        self.rawBytes = rawBytes
    }

    /// True when data may be lost or wrong: ingest rejects such a record. An item without a record always
    /// carries an error, except the one that only reports padding after the last record.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// A streaming source of records in one format.
public protocol MARCRecordReader: AnyObject {
    /// The next record, or nil at the end of the input. Problems in the data come back as diagnostics on
    /// the item; only a failure to read the input at all throws.
    func next() throws -> MARCReadItem?

    /// Hands every remaining item to `body`, in the order `next()` gives them. A reader may read faster this way.
    func forEach(_ body: (MARCReadItem) throws -> Void) throws
}

extension MARCRecordReader {
    public func forEach(_ body: (MARCReadItem) throws -> Void) throws {
        while let item = try next() { try body(item) }
    }
}
