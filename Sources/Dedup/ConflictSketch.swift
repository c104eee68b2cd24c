import Store

/// The inputs of ``PairComparison``'s commonest conflicts, packed in 63 bits: material, language, ISBNs, OCLC
/// numbers, and the year with the extent. It is kept on each of a record's block-key rows, so placement can rule
/// out a candidate from the row that found it, reading no record of it.
///
/// Every value is kept as a small hash or a bit in a mask. Two different hashes mean two different values, and
/// two masks with no bit in common mean two sets with no value in common. So ``conflicts(_:_:)`` is only ever
/// true where the full comparison vetoes. A collision can only hide a conflict, and the comparison still finds it.
struct ConflictSketch: Equatable {
    private(set) var bits: UInt64

    init(bits: UInt64) { self.bits = bits }

    // Bit 0: serial. Each other field: a presence bit or a non-zero mask, then its value.
    private static let serial: UInt64 = 1
    private static let material = Field(present: 1, at: 2, width: 3)
    private static let language = Field(present: 5, at: 6, width: 4)
    private static let year = Field(present: 10, at: 11, width: 12)
    private static let extentKind = Field(present: nil, at: 23, width: 2)
    private static let extentValue = Field(present: nil, at: 25, width: 14)
    private static let isbns = Field(present: nil, at: 39, width: 14)
    private static let oclcs = Field(present: nil, at: 53, width: 10)

    private enum ExtentKind: UInt64 {
        case pages = 1
        case volumes = 2
    }

    init(_ keys: [MatchKey]) {
        let keys = Keys(keys)
        bits = PairComparison.isSerial(keys) ? Self.serial : 0
        if let material = keys.first("material") { Self.material.set(Self.hash(material), in: &bits) }
        if let language = keys.first("language") { Self.language.set(Self.hash(language), in: &bits) }
        // As the comparison reads them: a year that is not a number, or an extent that is neither a count of
        // pages nor of volumes, is not compared, so it is left out; so is a value too large for its field.
        if let year = keys.first("year").flatMap(Int.init), Self.year.holds(year) { Self.year.set(UInt64(year), in: &bits) }
        if let extent = keys.first("extent") {
            if let pages = Int(extent) {
                if Self.extentValue.holds(pages) {
                    Self.extentKind.set(ExtentKind.pages.rawValue, in: &bits)
                    Self.extentValue.set(UInt64(pages), in: &bits)
                }
            } else if extent.hasSuffix("v") {
                Self.extentKind.set(ExtentKind.volumes.rawValue, in: &bits)
                Self.extentValue.set(Self.hash(extent), in: &bits)
            }
        }
        for isbn in keys.all("isbn") { Self.isbns.setBit(Self.hash(isbn), in: &bits) }
        for oclc in keys.all("oclc") { Self.oclcs.setBit(Self.hash(oclc), in: &bits) }
    }

    var storedValue: Int64 { Int64(bitPattern: bits) }

    /// True only when ``PairComparison`` vetoes every pair of records with these sketches, in the order it
    /// checks: explicit conflicts and identifiers first, then (for books, not serials) extents and years.
    static func conflicts(_ a: ConflictSketch, _ b: ConflictSketch) -> Bool {
        func differ(_ field: Field) -> Bool {
            guard let x = field.value(a.bits), let y = field.value(b.bits) else { return false }
            return x != y
        }
        func disjoint(_ mask: Field) -> Bool {
            let (x, y) = (mask.raw(a.bits), mask.raw(b.bits))
            return x != 0 && y != 0 && x & y == 0
        }
        if differ(material) || differ(language) || disjoint(isbns) || disjoint(oclcs) { return true }
        if (a.bits | b.bits) & serial != 0 { return false }
        let kinds = (extentKind.raw(a.bits), extentKind.raw(b.bits))
        let extents = (extentValue.raw(a.bits), extentValue.raw(b.bits))
        if kinds == (ExtentKind.volumes.rawValue, ExtentKind.volumes.rawValue) && extents.0 != extents.1 { return true }
        // A different year vetoes only with a different publisher or extent; publishers are not sketched.
        guard let yearA = year.value(a.bits), let yearB = year.value(b.bits), yearA != yearB,
            kinds == (ExtentKind.pages.rawValue, ExtentKind.pages.rawValue)
        else { return false }
        return PairComparison.pagesDiffer(Int(extents.0), Int(extents.1))
    }

    /// FNV-1a 64: stable across processes and versions, as a stored value must be.
    private static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    private struct Field {
        var present: Int?
        var at: Int
        var width: Int

        private var mask: UInt64 { (1 << UInt64(width)) - 1 }

        func holds(_ value: Int) -> Bool { value >= 0 && value <= Int(mask) }

        func set(_ value: UInt64, in bits: inout UInt64) {
            if let present { bits |= 1 << UInt64(present) }
            bits |= (value & mask) << UInt64(at)
        }

        /// For masks of sets: one bit of the field for each value.
        func setBit(_ value: UInt64, in bits: inout UInt64) {
            bits |= 1 << UInt64(at + Int(value % UInt64(width)))
        }

        func raw(_ bits: UInt64) -> UInt64 { (bits >> UInt64(at)) & mask }

        func value(_ bits: UInt64) -> UInt64? {
            guard let present, bits & (1 << UInt64(present)) != 0 else { return nil }
            return raw(bits)
        }
    }
}
