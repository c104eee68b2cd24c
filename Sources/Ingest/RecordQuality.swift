import MARC

/// How good a master a record makes: its encoding level first (MARC21 leader/17: blank full, then 1, 4, I,
/// 7, 2, 3, 5, K, M, 8, u, z; UNIMARC: blank, 1, 2, 3), then how many fields it has.
enum RecordQuality {
    static let marc21Levels: [UInt8] = Array(" 1I4L72K3M58uz".utf8)
    static let unimarcLevels: [UInt8] = Array(" 123".utf8)

    static func of(_ record: MARCRecord) -> Int {
        let levels = record.flavour.isUNIMARCFamily ? unimarcLevels : marc21Levels
        let rank = levels.firstIndex(of: record.leader.encodingLevel).map { levels.count - $0 } ?? 0
        return rank * 10_000 + min(record.fieldCount, 9_999)
    }
}
