/// A three-byte field tag. Tags are usually digits, but Aleph and Alma exports carry `CAT`, `AVA`, `OWN`…
public struct MARCTag: Sendable, Hashable, Comparable {
    /// The three tag bytes packed big-endian into the low 24 bits.
    public let code: UInt32

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
        code = UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c)
    }

    /// Nil unless `string` is exactly three bytes of UTF-8.
    public init?(_ string: String) {
        let utf8 = Array(string.utf8)
        guard utf8.count == 3 else { return nil }
        self.init(utf8[0], utf8[1], utf8[2])
    }

    public var bytes: (UInt8, UInt8, UInt8) {
        (UInt8(truncatingIfNeeded: code >> 16), UInt8(truncatingIfNeeded: code >> 8), UInt8(truncatingIfNeeded: code))
    }

    public var string: String {
        let (a, b, c) = bytes
        return String(decoding: [a, b, c], as: UTF8.self)
    }

    /// Tags 001–009 hold control fields in both MARC21 and UNIMARC.
    public var isControlTag: Bool {
        let (a, b, c) = bytes
        return a == 0x30 && b == 0x30 && c >= 0x31 && c <= 0x39
    }

    /// True when all three bytes are ASCII digits.
    public var isNumeric: Bool {
        let (a, b, c) = bytes
        return (0x30...0x39).contains(a) && (0x30...0x39).contains(b) && (0x30...0x39).contains(c)
    }

    public static func < (lhs: MARCTag, rhs: MARCTag) -> Bool { lhs.code < rhs.code }
}

extension MARCTag: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        guard let tag = MARCTag(value) else { preconditionFailure("a tag literal has three ASCII bytes: \(value)") }
        self = tag
    }
}

extension MARCTag: CustomStringConvertible {
    public var description: String { string }
}
