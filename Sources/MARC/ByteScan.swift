/// One pass over a record's data area, eight bytes at a time: is it all ASCII, where is the first byte that is
/// not, how many subfield delimiters are there, and do any two delimiters touch (a subfield with no code).
struct ByteScan {
    var firstNonASCII: Int?
    var delimiterCount = 0
    var adjacentDelimiters = false
    var hasEscape = false

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    private static let high: UInt64 = 0x8080_8080_8080_8080

    /// High bit set in exactly the bytes of `word` equal to `byte` (no false positives, unlike the usual test).
    @inline(__always)
    private static func matches(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (ones &* UInt64(byte))
        let y = (x & low7) &+ low7
        return ~(y | x | low7)
    }

    init(_ raw: UnsafeRawBufferPointer, from: Int, to: Int) {
        guard from < to, let base = raw.baseAddress else { return }
        var index = from
        var previousWasDelimiter = false
        while index + 8 <= to {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if firstNonASCII == nil && word & Self.high != 0 {
                var offset = 0
                while base.load(fromByteOffset: index + offset, as: UInt8.self) < 0x80 { offset += 1 }
                firstNonASCII = index + offset
            }
            let delimiters = Self.matches(word, MARCDelimiter.subfield)
            if delimiters != 0 {
                delimiterCount += delimiters.nonzeroBitCount
                // Little-endian: byte n's high bit is bit 8n+7; a delimiter right after another is mask << 8.
                if delimiters & (delimiters << 8) != 0 || (previousWasDelimiter && delimiters & 0x80 != 0) {
                    adjacentDelimiters = true
                }
            }
            if word & Self.high == 0, Self.matches(word, 0x1B) != 0 { hasEscape = true }
            previousWasDelimiter = delimiters & (UInt64(0x80) << 56) != 0
            index += 8
        }
        while index < to {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte >= 0x80 && firstNonASCII == nil { firstNonASCII = index }
            if byte == 0x1B { hasEscape = true }
            if byte == MARCDelimiter.subfield {
                delimiterCount += 1
                if previousWasDelimiter { adjacentDelimiters = true }
                previousWasDelimiter = true
            } else {
                previousWasDelimiter = false
            }
            index += 1
        }
    }
}
