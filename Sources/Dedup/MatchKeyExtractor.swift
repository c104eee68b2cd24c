import MARC
import Store

/// Takes the normalised match keys out of a bibliographic record, MARC21 or UNIMARC/CNMARC alike.
///
/// Blocking keys (they find candidates): `isbn`, `issn`, `lccn`, `oclc`, `tauth` (normalised title proper and
/// main author's word), `tyear` (the title's first four words and the year), `aub` (author, year, first title
/// word). Compared keys: `title`, `isbn-invalid`, `titlefull` (with the subtitle), `part`, `edition`, `year`,
/// `publisher`, `extent`, `author`, `material`, `language`; for serials `keytitle` (222) and `related-title`
/// (780/785, the titles before and after a change).
public enum MatchKeyExtractor {
    public static func keys(of record: MARCRecord) -> [MatchKey] {
        var keys = KeyList()
        let unimarc = record.flavour.isUNIMARCFamily
        let leader = record.leader
        keys.add("material", String(decoding: [leader[6], leader[7]], as: UTF8.self))
        if unimarc {
            for text in record.all("010").flatMap({ $0.subfields("a") }) { keys.add(isbnKind(text), isbn(text)) }
            for text in record.all("011").flatMap({ $0.subfields("a") }) { keys.add("issn", Identifiers.issn(text)) }
            for field in record.all("200") {
                keys.addTitle(field.subfield("a"), subtitle: field.subfields("e").first, nonFiling: 0)
                keys.add("part", TitleKey.normalise((field.subfields("h") + field.subfields("i")).joined(separator: " ")))
            }
            keys.add("edition", record.all("205").first?.subfield("a").flatMap(Attributes.edition))
            keys.add("year", record.all("100").first?.subfield("a").flatMap { Attributes.year(fixed: $0, at: 9) }
                ?? record.all("210").first?.subfield("d").flatMap(Attributes.year(text:)))
            keys.add("publisher", record.all("210").first?.subfield("c").flatMap(Attributes.publisher))
            keys.add("extent", record.all("215").first?.subfield("a").flatMap(Attributes.extent))
            keys.add("author", (record.all("700") + record.all("710") + record.all("701")).first?.subfield("a").flatMap(Attributes.author))
            keys.add("language", record.all("101").first?.subfield("a").flatMap { Attributes.language(code: $0) })
        } else {
            for text in record.all("020").flatMap({ $0.subfields("a") }) { keys.add(isbnKind(text), isbn(text)) }
            for text in record.all("022").flatMap({ $0.subfields("a") }) { keys.add("issn", Identifiers.issn(text)) }
            for text in record.all("022").flatMap({ $0.subfields("l") }) { keys.add("issn", Identifiers.issn(text)) }
            // Serials: the key title, and the titles before and after a title change.
            for field in record.all("222") {
                keys.add("keytitle", TitleKey.normalise((field.subfields("a") + field.subfields("b")).joined(separator: " ")))
            }
            for field in record.all("780") + record.all("785") {
                keys.add("related-title", field.subfield("t").flatMap(TitleKey.normalise))
            }
            for text in record.all("010").flatMap({ $0.subfields("a") }) { keys.add("lccn", Identifiers.lccn(text)) }
            for text in record.all("035").flatMap({ $0.subfields("a") }) { keys.add("oclc", Identifiers.oclc(text)) }
            // The title as romanised and, in an 880 linked to 245, in the vernacular: another library may carry either.
            let titles = record.all("245") + record.all("880").filter { $0.subfield("6")?.hasPrefix("245") == true }
            for field in titles {
                let nonFiling = field.indicator2 >= 0x30 && field.indicator2 <= 0x39 ? Int(field.indicator2 - 0x30) : 0
                keys.addTitle(field.subfield("a"), subtitle: field.subfield("b"), nonFiling: nonFiling)
                keys.add("part", TitleKey.normalise((field.subfields("n") + field.subfields("p")).joined(separator: " ")))
            }
            keys.add("edition", record.first("250")?.subfield("a").flatMap(Attributes.edition))
            let fixed = record.first("008").map(\.value)
            let imprint = record.first("260") ?? record.first("264")
            keys.add("year", fixed.flatMap { Attributes.year(fixed: $0, at: 7) } ?? imprint?.subfield("c").flatMap(Attributes.year(text:)))
            keys.add("publisher", imprint?.subfield("b").flatMap(Attributes.publisher))
            keys.add("extent", record.first("300")?.subfield("a").flatMap(Attributes.extent))
            keys.add("author", (record.first("100") ?? record.first("110") ?? record.first("111"))?.subfield("a").flatMap(Attributes.author))
            keys.add("language", fixed.flatMap { Attributes.language(fixed: $0) })
        }
        // Blocks, each narrow enough to stay small in a catalogue of millions: the title with the main author's
        // word (or none); the title's first four words with the year; and author, year and the title's first
        // word, which finds the same book under two differently worded titles.
        let author = keys.first("author")
        let year = keys.first("year")
        for title in keys.keys.filter({ $0.kind == "title" }).map(\.value) {
            keys.add("tauth", title + "|" + (author ?? ""))
            if let year { keys.add("tyear", title.split(separator: " ").prefix(4).joined(separator: " ") + "|" + year) }
            if let author, let year, let word = title.split(separator: " ").first { keys.add("aub", "\(author)|\(year)|\(word)") }
        }
        return keys.keys
    }

    private static func isbn(_ text: String) -> String? {
        Identifiers.isbn13(text) ?? Identifiers.leadingIdentifier(text, lengths: [10, 13])
    }

    /// A valid ISBN is an identifier; one with a wrong check digit is kept apart, as weak evidence only.
    private static func isbnKind(_ text: String) -> String {
        Identifiers.isbn13(text) == nil ? "isbn-invalid" : "isbn"
    }
}

/// Keys in order, without repeats.
struct KeyList {
    var keys: [MatchKey] = []

    mutating func add(_ kind: String, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        let key = MatchKey(kind, value)
        if !keys.contains(key) { keys.append(key) }
    }

    func first(_ kind: String) -> String? { keys.first { $0.kind == kind }?.value }

    /// The title proper (`title`) and with its subtitle (`titlefull`).
    mutating func addTitle(_ title: String?, subtitle: String?, nonFiling: Int) {
        guard let title else { return }
        let proper = TitleKey.normalise(TitleKey.filingForm(title, nonFiling: nonFiling))
        add("title", proper)
        let full = subtitle.map { title + " " + $0 } ?? title
        add("titlefull", TitleKey.normalise(TitleKey.filingForm(full, nonFiling: nonFiling)))
    }
}
