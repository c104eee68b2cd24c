import MARC
import Store

/// Takes the normalised match keys out of a bibliographic record, MARC21 or UNIMARC/CNMARC alike.
///
/// Blocking keys (they find candidates): `isbn`, `issn`, `lccn`, `oclc`, `csbn` (CNMARC 091, the unified book
/// number), `tauth` (normalised title proper and
/// main author's word), `tyear` (the title's first four words and the year), `aub` (author, year, first title
/// word), `pyear` (a Chinese title's pinyin and the year). Compared keys: `title`, `isbn-invalid`, `titlefull`
/// (with the subtitle), `pinyin`, `sysno` (another system's number in 035, with its system; records copied from
/// one record share the other blocks too, so it is compared, not indexed), `part`, `edition`, `year`, `publisher`, `extent`, `author`, `material`,
/// `language`; for serials `keytitle` (222) and `related-title` (780/785, the titles before and after a change).
/// MARC21 title, edition, imprint and main entry are read from the field and from its 880 vernacular twin.
public enum MatchKeyExtractor {
    public static func keys(of record: MARCRecord) -> [MatchKey] {
        var keys = KeyList()
        let leader = record.leader
        keys.add("material", String(decoding: [leader[6], leader[7]], as: UTF8.self))
        if record.flavour.isUNIMARCFamily {
            addUNIMARCKeys(of: record, to: &keys)
        } else {
            addMARC21Keys(of: record, to: &keys)
        }
        // Blocks, each narrow enough to stay small in a catalogue of millions: the title with the main author's
        // word in the same script (or none); the title's first four words with the year; author, year and the
        // title's first word, which finds the same book under two differently worded titles; and a Chinese
        // title's pinyin with the year, which finds a romanised-only record and a vernacular-only one.
        let authors = keys.all("author")
        let year = keys.first("year")
        for title in keys.all("title") {
            let script = Attributes.script(of: title)
            let author = authors.first { Attributes.script(of: $0) == script } ?? authors.first
            keys.add("tauth", title + "|" + (author ?? ""))
            if let year { keys.add("tyear", title.split(separator: " ").prefix(4).joined(separator: " ") + "|" + year) }
            if let author, let year, let word = title.split(separator: " ").first { keys.add("aub", "\(author)|\(year)|\(word)") }
        }
        if let year {
            for pinyin in keys.all("pinyin") { keys.add("pyear", pinyin + "|" + year) }
        }
        return keys.keys
    }

    private static func addUNIMARCKeys(of record: MARCRecord, to keys: inout KeyList) {
        var volumes: [String?] = []
        for field in record.all("010") {
            for text in field.subfields("a") { keys.add(isbnKind(text), isbn(text)) }
            volumes.append(field.subfields("b").compactMap(Attributes.volume(inQualifier:)).first)
        }
        addVolume(from: volumes, to: &keys)
        for text in record.all("011").flatMap({ $0.subfields("a") + $0.subfields("f") }) { keys.add("issn", Identifiers.issn(text)) }
        for text in record.all("091").flatMap({ $0.subfields("a") }) { keys.add("csbn", Identifiers.unifiedBookNumber(text)) }
        for text in record.all("035").flatMap({ $0.subfields("a") }) {
            keys.add("oclc", Identifiers.oclc(text))
            keys.add("sysno", Identifiers.systemNumber(text))
        }
        for field in record.all("200") {
            keys.addTitle(field.subfield("a"), subtitle: field.subfields("e").first, nonFiling: 0)
            keys.add("part", Attributes.part(number: field.subfields("h"), name: field.subfields("i")))
            // The pinyin ($A) is compared as pinyin, never taken into the title key.
            keys.add("pinyin", field.subfield("A").flatMap(Attributes.pinyin))
        }
        for field in record.all("205") { keys.add("edition", field.subfield("a").flatMap(Attributes.edition)) }
        keys.add("year", record.first("100")?.subfield("a").flatMap { Attributes.year(fixed: $0, at: 9) }
            ?? record.first("210")?.subfield("d").flatMap(Attributes.year(text:)))
        for text in record.all("210").flatMap({ $0.subfields("c") }).prefix(2) { keys.add("publisher", Attributes.publisher(text)) }
        keys.add("extent", record.first("215")?.subfield("a").flatMap(Attributes.extent))
        let names = record.all("700") + record.all("710") + record.all("701") + record.all("711")
        keys.add("author", names.first?.subfield("a").flatMap(Attributes.author))
        keys.add("language", record.first("101")?.subfield("a").flatMap { Attributes.language(code: $0) })
    }

    private static func addMARC21Keys(of record: MARCRecord, to keys: inout KeyList) {
        let twins = VernacularTwins(record)
        var volumes: [String?] = []
        for field in record.all("020") {
            var volume: String?
            for text in field.subfields("a") {
                keys.add(isbnKind(text), isbn(text))
                if let open = text.firstIndex(of: "(") { volume = volume ?? Attributes.volume(inQualifier: String(text[open...])) }
            }
            volumes.append(volume ?? field.subfields("q").compactMap(Attributes.volume(inQualifier:)).first)
        }
        addVolume(from: volumes, to: &keys)
        for text in record.all("022").flatMap({ $0.subfields("a") + $0.subfields("l") }) { keys.add("issn", Identifiers.issn(text)) }
        // Serials: the key title, and the titles before and after a title change.
        for field in record.all("222") {
            keys.add("keytitle", TitleKey.normalise((field.subfields("a") + field.subfields("b")).joined(separator: " ")))
        }
        for field in record.all("780") + record.all("785") {
            keys.add("related-title", field.subfield("t").flatMap(TitleKey.normalise))
        }
        for text in record.all("010").flatMap({ $0.subfields("a") }) { keys.add("lccn", Identifiers.lccn(text)) }
        for text in record.all("035").flatMap({ $0.subfields("a") }) {
            keys.add("oclc", Identifiers.oclc(text))
            keys.add("sysno", Identifiers.systemNumber(text))
        }
        let fixed = record.first("008").map(\.value)
        let language = fixed.flatMap { Attributes.language(fixed: $0) }
        // The title as romanised and, in an 880 linked to 245, in the vernacular: another library may carry either.
        for field in twins.withTwins(record.all("245")) {
            let nonFiling = field.indicator2 >= 0x30 && field.indicator2 <= 0x39 ? Int(field.indicator2 - 0x30) : 0
            keys.addTitle(field.subfield("a"), subtitle: field.subfield("b"), nonFiling: nonFiling)
            keys.add("part", Attributes.part(number: field.subfields("n"), name: field.subfields("p")))
            if language == "chi" { keys.add("pinyin", field.subfield("a").flatMap(Attributes.pinyin)) }
        }
        for field in twins.withTwins(record.all("250").prefix(1)) {
            keys.add("edition", field.subfield("a").flatMap(Attributes.edition))
        }
        let imprint = record.first("260") ?? record.first("264")
        keys.add("year", fixed.flatMap { Attributes.year(fixed: $0, at: 7) } ?? imprint?.subfield("c").flatMap(Attributes.year(text:)))
        for field in twins.withTwins(imprint.map { [$0] } ?? []) {
            keys.add("publisher", field.subfield("b").flatMap(Attributes.publisher))
        }
        keys.add("extent", record.first("300")?.subfield("a").flatMap(Attributes.extent))
        let mainEntry = record.first("100") ?? record.first("110") ?? record.first("111")
        for field in twins.withTwins(mainEntry.map { [$0] } ?? []) {
            keys.add("author", field.subfield("a").flatMap(Attributes.author))
        }
        keys.add("language", language)
    }

    /// A volume from the ISBNs' qualifications counts only when every ISBN names the same one: a set's record
    /// lists the ISBN of each of its volumes.
    private static func addVolume(from volumes: [String?], to keys: inout KeyList) {
        guard let first = volumes.first ?? nil, volumes.allSatisfy({ $0 == first }) else { return }
        keys.add("part", first)
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

    func all(_ kind: String) -> [String] { keys.filter { $0.kind == kind }.map(\.value) }

    /// The title proper (`title`) and with its subtitle (`titlefull`).
    mutating func addTitle(_ title: String?, subtitle: String?, nonFiling: Int) {
        guard let title else { return }
        let proper = TitleKey.normalise(TitleKey.filingForm(title, nonFiling: nonFiling))
        add("title", proper)
        let full = subtitle.map { title + " " + $0 } ?? title
        add("titlefull", TitleKey.normalise(TitleKey.filingForm(full, nonFiling: nonFiling)))
    }
}

/// A MARC21 record's 880 fields by the field they are the vernacular form of (`$6 245-02`).
struct VernacularTwins {
    private var byLink: [String: MARCField] = [:]
    private var byTag: [String: [MARCField]] = [:]

    init(_ record: MARCRecord) {
        for field in record.all("880") {
            guard let link = field.subfield("6"), link.utf8.count >= 3 else { continue }
            byTag[String(link.prefix(3)), default: []].append(field)
            if link.utf8.count >= 6 { byLink[String(link.prefix(6))] = field }
        }
    }

    /// Each field followed by its vernacular twin: the 880 its `$6` links to or, when it has no link (exports
    /// that lose it, unlinked 880s), every 880 for its tag if it is the only such field.
    func withTwins<Fields: Collection<MARCField>>(_ fields: Fields) -> [MARCField] {
        guard !byTag.isEmpty else { return Array(fields) }
        var result: [MARCField] = []
        for field in fields {
            result.append(field)
            let tag = field.tag.string
            if let link = field.subfield("6"), link.hasPrefix("880-"), link.utf8.count >= 6 {
                if let twin = byLink["\(tag)-\(link.dropFirst(4).prefix(2))"] { result.append(twin) }
            } else if fields.count == 1 {
                result += byTag[tag] ?? []
            }
        }
        return result
    }
}
