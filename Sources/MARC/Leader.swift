/// The 24-byte record leader, held inline so building a record allocates nothing for it.
public struct Leader: Sendable, Hashable {
    public static let length = 24

    // Three little-endian words: byte n of the leader is byte n % 8 of word n / 8.
    private var word0: UInt64 = 0x2020_2020_2020_2020
    private var word1: UInt64 = 0x2020_2020_2020_2020
    private var word2: UInt64 = 0x2020_2020_2020_2020

    /// A leader of 24 blanks.
    public init() {}

    /// Takes the first 24 bytes, padding a short leader with blanks.
    public init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        self.init()
        var index = 0
        for byte in bytes.prefix(Leader.length) {
            self[index] = byte
            index += 1
        }
    }

    /// Reads 24 bytes at once; `raw` must hold at least 24.
    init(leaderBytes raw: UnsafeRawBufferPointer) {
        word0 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        word1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        word2 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
    }

    public init(_ string: String) {
        self.init(bytes: Array(string.utf8))
    }

    public subscript(position: Int) -> UInt8 {
        get {
            precondition(position >= 0 && position < Leader.length, "leader position out of range")
            let shift = UInt64((position & 7) * 8)
            switch position >> 3 {
            case 0: return UInt8(truncatingIfNeeded: word0 >> shift)
            case 1: return UInt8(truncatingIfNeeded: word1 >> shift)
            default: return UInt8(truncatingIfNeeded: word2 >> shift)
            }
        }
        set {
            precondition(position >= 0 && position < Leader.length, "leader position out of range")
            let shift = UInt64((position & 7) * 8)
            let mask = ~(UInt64(0xFF) << shift)
            let value = UInt64(newValue) << shift
            switch position >> 3 {
            case 0: word0 = word0 & mask | value
            case 1: word1 = word1 & mask | value
            default: word2 = word2 & mask | value
            }
        }
    }

    public var bytes: [UInt8] {
        (0..<Leader.length).map { self[$0] }
    }

    /// The leader as text; bytes that are not ASCII become U+FFFD.
    public var string: String {
        String(decoding: bytes.map { $0 < 0x80 ? $0 : 0x3F }, as: UTF8.self)
    }

    /// Leader/05: record status (`d` = deleted).
    public var recordStatus: UInt8 { self[5] }
    /// Leader/06: type of record (`a` language material, `x`/`y`/`v`/`u` holdings, `z` authority…).
    public var typeOfRecord: UInt8 { self[6] }
    /// Leader/07: bibliographic level.
    public var bibliographicLevel: UInt8 { self[7] }
    /// Leader/09: character coding scheme in MARC21 (`a` = UCS/Unicode, blank = MARC-8).
    public var characterCoding: UInt8 {
        get { self[9] }
        set { self[9] = newValue }
    }
    /// Leader/17: encoding level.
    public var encodingLevel: UInt8 { self[17] }

    /// Reads positions `range` as a decimal number, or nil when any byte is not a digit.
    public func number(_ range: Range<Int>) -> Int? {
        var value = 0
        for position in range {
            let byte = self[position]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// Writes `value` zero-padded into `range`; the caller guarantees it fits.
    mutating func setNumber(_ value: Int, in range: Range<Int>) {
        var remaining = value
        for position in range.reversed() {
            self[position] = UInt8(0x30 + remaining % 10)
            remaining /= 10
        }
    }
}

extension Leader: CustomStringConvertible {
    public var description: String { string }
}
