/// The MARC format family a record belongs to.
public enum MARCFlavour: String, Sendable, Hashable, Codable, CodingKeyRepresentable, CaseIterable {
    case marc21
    /// UNIMARC as used in Europe.
    case unimarc
    /// UNIMARC as profiled by China's National Library and CALIS.
    case cnmarc
    /// Too little content to tell.
    case unknown

    public var isUNIMARCFamily: Bool { self == .unimarc || self == .cnmarc }

    /// Weighs fields that only one family defines the same way: 008/040/245/260/264/300/650 for MARC21;
    /// 100 with a coded `$a` starting with an 8-digit date, 101, 200, 210, 215, 690, 701, 801 for UNIMARC.
    /// CNMARC is UNIMARC with Chinese cataloguing marks: 801 `$a CN`, pinyin `$A` in 200, 091/092, 905.
    public static func detect(_ record: MARCRecord) -> MARCFlavour {
        var marc21 = 0
        var unimarc = 0
        var chinese = false
        record.storage.withUnsafeBytes { raw in
            for entry in record.entries {
                switch entry.tag.code {
                case Tags.t008, Tags.t040, Tags.t245, Tags.t260, Tags.t264, Tags.t300, Tags.t650:
                    marc21 += 2
                case Tags.t100:
                    if startsWithCodedDate(raw, entry.range) { unimarc += 3 } else { marc21 += 1 }
                case Tags.t801:
                    unimarc += 2
                    if subfieldA(raw, entry.range, equals: [UInt8(ascii: "C"), UInt8(ascii: "N")]) { chinese = true }
                case Tags.t200:
                    unimarc += 2
                    if contains(raw, entry.range, [MARCDelimiter.subfield, UInt8(ascii: "A")]) { chinese = true }
                case Tags.t101, Tags.t210, Tags.t215, Tags.t690, Tags.t701:
                    unimarc += 2
                case Tags.t091, Tags.t092, Tags.t905:
                    chinese = true
                default:
                    break
                }
            }
        }
        if marc21 == 0 && unimarc == 0 { return .unknown }
        if unimarc > marc21 { return chinese ? .cnmarc : .unimarc }
        return .marc21
    }

    /// UNIMARC 100 is `##$a` then 36 coded bytes starting with an 8-digit date of entry.
    private static func startsWithCodedDate(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let valueStart = range.lowerBound + 4
        guard range.count >= 4 + 30, raw[range.lowerBound + 2] == MARCDelimiter.subfield,
            raw[range.lowerBound + 3] == UInt8(ascii: "a")
        else { return false }
        for index in valueStart..<(valueStart + 8) where !(0x30...0x39).contains(raw[index]) { return false }
        return true
    }

    private static func subfieldA(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, equals value: [UInt8]) -> Bool {
        var index = range.lowerBound + 2
        while index + 1 < range.upperBound {
            if raw[index] == MARCDelimiter.subfield && raw[index + 1] == UInt8(ascii: "a") {
                var end = index + 2
                while end < range.upperBound && raw[end] != MARCDelimiter.subfield { end += 1 }
                return UnsafeRawBufferPointer(rebasing: raw[(index + 2)..<end]).elementsEqual(value)
            }
            index += 1
        }
        return false
    }

    private static func contains(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ pair: [UInt8]) -> Bool {
        var index = range.lowerBound
        while index + 1 < range.upperBound {
            if raw[index] == pair[0] && raw[index + 1] == pair[1] { return true }
            index += 1
        }
        return false
    }
}

private enum Tags {
    static let t008: UInt32 = 0x303038  // "008"
    static let t040: UInt32 = 0x303430  // "040"
    static let t091: UInt32 = 0x303931  // "091"
    static let t092: UInt32 = 0x303932  // "092"
    static let t100: UInt32 = 0x313030  // "100"
    static let t101: UInt32 = 0x313031  // "101"
    static let t200: UInt32 = 0x323030  // "200"
    static let t210: UInt32 = 0x323130  // "210"
    static let t215: UInt32 = 0x323135  // "215"
    static let t245: UInt32 = 0x323435  // "245"
    static let t260: UInt32 = 0x323630  // "260"
    static let t264: UInt32 = 0x323634  // "264"
    static let t300: UInt32 = 0x333030  // "300"
    static let t650: UInt32 = 0x363530  // "650"
    static let t690: UInt32 = 0x363930  // "690"
    static let t701: UInt32 = 0x373031  // "701"
    static let t801: UInt32 = 0x383031  // "801"
    static let t905: UInt32 = 0x393035  // "905"
}
