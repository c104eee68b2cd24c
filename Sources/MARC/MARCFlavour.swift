/// The MARC format family a record belongs to.
public enum MARCFlavour: String, Sendable, Hashable, Codable, CaseIterable {
    case marc21
    /// UNIMARC as used in Europe.
    case unimarc
    /// UNIMARC as profiled by China's National Library and CALIS.
    case cnmarc
    /// Too little content to tell.
    case unknown

    public var isUNIMARCFamily: Bool { self == .unimarc || self == .cnmarc }

    /// Weighs fields that only one family defines the same way: 008/040/245/1XX/260/264/300 for MARC21;
    /// 100 with a 36-byte `$a`, 101, 200, 210, 215, 7XX names, 801 for UNIMARC. CNMARC is UNIMARC with
    /// Chinese cataloguing marks (801 `$a CN`, pinyin `$A`/`$9`, 091/092, 905).
    public static func detect(_ record: MARCRecord) -> MARCFlavour {
        var marc21 = 0
        var unimarc = 0
        var chinese = false
        for field in record.fields {
            let tag = field.tag
            switch tag.code {
            case Tags.t008, Tags.t040, Tags.t245, Tags.t260,
                Tags.t264, Tags.t300, Tags.t650:
                marc21 += 2
            case Tags.t100:
                // UNIMARC 100 is coded data: $a of 36 bytes starting with an 8-digit date.
                if let a = field.subfield("a"), a.utf8.count >= 30, a.prefix(8).allSatisfy(\.isNumber) {
                    unimarc += 3
                } else {
                    marc21 += 1
                }
            case Tags.t101, Tags.t200, Tags.t210, Tags.t215,
                Tags.t701, Tags.t801, Tags.t690:
                unimarc += 2
                if tag == "801", field.subfield("a") == "CN" { chinese = true }
                if tag == "200", field.subfields.contains(where: { $0.code == UInt8(ascii: "A") }) { chinese = true }
            case Tags.t091, Tags.t092, Tags.t905:
                chinese = true
            default:
                break
            }
        }
        if marc21 == 0 && unimarc == 0 { return .unknown }
        if unimarc > marc21 { return chinese ? .cnmarc : .unimarc }
        return .marc21
    }
}

private enum Tags {
    static let t008 = MARCTag("008").code
    static let t040 = MARCTag("040").code
    static let t091 = MARCTag("091").code
    static let t092 = MARCTag("092").code
    static let t100 = MARCTag("100").code
    static let t101 = MARCTag("101").code
    static let t200 = MARCTag("200").code
    static let t210 = MARCTag("210").code
    static let t215 = MARCTag("215").code
    static let t245 = MARCTag("245").code
    static let t260 = MARCTag("260").code
    static let t264 = MARCTag("264").code
    static let t300 = MARCTag("300").code
    static let t650 = MARCTag("650").code
    static let t690 = MARCTag("690").code
    static let t701 = MARCTag("701").code
    static let t801 = MARCTag("801").code
    static let t905 = MARCTag("905").code
}
