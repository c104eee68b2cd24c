/// One problem found while reading a record, with where it was found.
public struct MARCDiagnostic: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Codable, Comparable {
        /// The record was recovered whole (a wrong record length, a missing final terminator).
        case warning
        /// Data may be lost or wrong (an unreadable directory entry, truncation).
        case error

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs == .warning && rhs == .error }
    }

    public var severity: Severity
    /// A stable, machine-readable name for the kind of problem.
    public var code: Code
    public var message: String
    /// 1-based position of the record in its file.
    public var recordNumber: Int
    /// Offset of the record's first byte in the (decompressed) input.
    public var byteOffset: Int64
    /// The record's 001, trimmed, when it could be read.
    public var controlNumber: String?

    public init(
        _ severity: Severity, _ code: Code, _ message: String, recordNumber: Int, byteOffset: Int64,
        controlNumber: String? = nil
    ) {
        self.severity = severity
        self.code = code
        self.message = message
        self.recordNumber = recordNumber
        self.byteOffset = byteOffset
        self.controlNumber = controlNumber
    }

    /// Kinds of problems. A struct over a string so new kinds never break callers that switch on old ones.
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let recordLength = Code(rawValue: "record-length")
        public static let recordTerminator = Code(rawValue: "record-terminator")
        public static let strayBytes = Code(rawValue: "stray-bytes")
        public static let truncated = Code(rawValue: "truncated")
        public static let leader = Code(rawValue: "leader")
        public static let baseAddress = Code(rawValue: "base-address")
        public static let directory = Code(rawValue: "directory")
        public static let directoryEntry = Code(rawValue: "directory-entry")
        public static let fieldLength = Code(rawValue: "field-length")
        public static let fieldTerminator = Code(rawValue: "field-terminator")
        public static let indicators = Code(rawValue: "indicators")
        public static let subfield = Code(rawValue: "subfield")
        public static let oversize = Code(rawValue: "oversize-record")
        public static let encoding = Code(rawValue: "encoding")
        public static let unreadable = Code(rawValue: "unreadable-record")
        public static let xml = Code(rawValue: "xml")
        public static let json = Code(rawValue: "json")
        public static let gzip = Code(rawValue: "gzip")
        public static let tag = Code(rawValue: "tag")
    }
}

extension MARCDiagnostic: CustomStringConvertible {
    /// `record 3 (001 ocm123) at byte 2048: error: truncated: …`
    public var description: String {
        let id = controlNumber.map { " (001 \($0))" } ?? ""
        return "record \(recordNumber)\(id) at byte \(byteOffset): \(severity.rawValue): \(code): \(message)"
    }
}

/// A failure that stops reading altogether: the input cannot be opened or read.
public struct MARCError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let io = Code(rawValue: "io")
        public static let unsupported = Code(rawValue: "unsupported")
        public static let output = Code(rawValue: "output")
        /// The container is damaged (gzip); what was read before it still counts.
        public static let corrupt = Code(rawValue: "corrupt")
    }

    public var code: Code
    public var message: String
    public var byteOffset: Int64?

    public init(_ code: Code, _ message: String, byteOffset: Int64? = nil) {
        self.code = code
        self.message = message
        self.byteOffset = byteOffset
    }

    public var description: String {
        byteOffset.map { "\(message) (at byte \($0))" } ?? message
    }
}
