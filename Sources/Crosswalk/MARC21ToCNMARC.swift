import MARC

/// MARC21 bibliographic records to CNMARC, the UNIMARC profile of China's National Library and CALIS.
///
/// Where a MARC21 field has a vernacular twin (880 linked by `$6`), the vernacular becomes the CNMARC content and
/// the romanisation its pinyin subfield (`$A`), as Chinese cataloguers record them. ISBD punctuation is dropped:
/// CNMARC subfields carry none. Fields with no CNMARC counterpart are left out.
public struct MARC21ToCNMARC: Sendable {
    /// The agency recorded as having transcribed the record (801 second indicator 2), if any.
    public var transcribingAgency: String?

    public init(transcribingAgency: String? = nil) {
        self.transcribingAgency = transcribingAgency
    }

    public func convert(_ source: MARCRecord) -> MARCRecord {
        let record = LinkedRecord(source)
        var output = MARCRecord(leader: Self.leader(from: source.leader))
        var fields: [(tag: String, field: OutputField)] = []
        func add(_ tag: String, _ field: OutputField?) {
            if let field, !field.subfields.isEmpty { fields.append((tag, field)) }
        }

        let fixed = source.first("008").map { Array($0.value.utf8) } ?? []
        for field in source.all("020") {
            var isbn = OutputField()
            var qualifiers: [String] = []
            for subfield in field.subfields {
                switch subfield.code {
                case UInt8(ascii: "a"):
                    // "7505712345 (pbk.)": the number, then its qualification.
                    let value = subfield.value.trimmed
                    let number = value.prefix { $0 != " " && $0 != "(" }
                    isbn.add("a", String(number))
                    let rest = Self.stripParentheses(String(value.dropFirst(number.count)))
                    if !rest.isEmpty { qualifiers.append(rest) }
                case UInt8(ascii: "q"): qualifiers.append(Self.stripParentheses(subfield.value))
                case UInt8(ascii: "c"): isbn.add("d", Self.clean(subfield.value))
                case UInt8(ascii: "z"): isbn.add("z", Self.clean(subfield.value))
                default: break
                }
            }
            if !qualifiers.isEmpty { isbn.insert("b", qualifiers.joined(separator: ", "), after: "a") }
            add("010", isbn)
        }
        for field in source.all("022") {
            var issn = OutputField()
            issn.add("a", field.subfield("a").map(Self.clean))
            issn.add("f", field.subfield("l").map(Self.clean))
            for value in field.subfields("z") { issn.add("z", Self.clean(value)) }
            add("011", issn)
        }
        if let lccn = source.first("010")?.subfield("a")?.trimmed, !lccn.isEmpty {
            add("020", OutputField(subfields: [("a", "US"), ("b", lccn)]))
        }
        for field in source.all("035") {
            add("035", OutputField(subfields: field.subfields.filter { $0.code == UInt8(ascii: "a") }.map { ("a", $0.value) }))
        }

        let language = fixed.count >= 38 ? String(decoding: fixed[35..<38], as: UTF8.self) : "und"
        let cataloguing = source.first("040")?.subfield("b").map(\.trimmed).flatMap { $0.count == 3 ? $0 : nil } ?? "eng"
        add("100", OutputField(subfields: [("a", Self.generalProcessingData(fixed: fixed, language: language, cataloguing: cataloguing))]))
        var languages = OutputField(indicators: ("0", " "))
        if let field = source.first("041") {
            for value in field.subfields("a") { languages.add("a", value) }
            let originals = field.subfields("h")
            if !originals.isEmpty { languages.indicators = ("1", " ") }
            for value in originals { languages.add("c", value) }
        }
        if languages.subfields.isEmpty, language.trimmed.count == 3 { languages.add("a", language) }
        add("101", languages)
        if fixed.count >= 18, let country = Self.countries[String(decoding: fixed[15..<18], as: UTF8.self).trimmed] {
            add("102", OutputField(subfields: [("a", country)]))
        }

        if let title = source.first("245") {
            let vernacular = record.vernacular(of: title)
            let nonFiling = title.indicator2 >= 0x31 && title.indicator2 <= 0x39 ? Int(title.indicator2 - 0x30) : 0
            var field = OutputField(indicators: ("1", " "))
            let main = vernacular ?? title
            for subfield in main.subfields {
                switch subfield.code {
                case UInt8(ascii: "a"):
                    field.add("a", Self.markNonFiling(Self.clean(subfield.value), count: vernacular == nil ? nonFiling : 0))
                    if vernacular != nil, let romanised = title.subfield("a") { field.add("A", Self.clean(romanised)) }
                case UInt8(ascii: "b"): field.add("e", Self.clean(subfield.value))
                case UInt8(ascii: "c"): field.add("f", Self.clean(subfield.value))
                case UInt8(ascii: "n"): field.add("h", Self.clean(subfield.value))
                case UInt8(ascii: "p"): field.add("i", Self.clean(subfield.value))
                default: break
                }
            }
            add("200", field)
        }
        if let edition = source.first("250") {
            let main = record.vernacular(of: edition) ?? edition
            var field = OutputField()
            field.add("a", main.subfield("a").map(Self.clean))
            field.add("b", main.subfield("b").map(Self.clean))
            add("205", field)
        }
        if let imprint = source.first("260") ?? source.all("264").first(where: { $0.indicator2 == UInt8(ascii: "1") }) {
            let main = record.vernacular(of: imprint) ?? imprint
            var field = OutputField()
            for subfield in main.subfields {
                switch subfield.code {
                case UInt8(ascii: "a"): field.add("a", Self.clean(subfield.value))
                case UInt8(ascii: "b"): field.add("c", Self.clean(subfield.value))
                case UInt8(ascii: "c"): field.add("d", Self.clean(subfield.value))
                default: break
                }
            }
            add("210", field)
        }
        if let extent = source.first("300") {
            var field = OutputField()
            field.add("a", extent.subfield("a").map(Self.clean))
            field.add("c", extent.subfield("b").map(Self.clean))
            field.add("d", extent.subfield("c").map(Self.clean))
            field.add("e", extent.subfield("e").map(Self.clean))
            add("215", field)
        }
        for series in source.all("440") + source.all("490") {
            let main = record.vernacular(of: series) ?? series
            var field = OutputField(indicators: (series.tag.string == "440" ? "2" : "0", " "))
            field.add("a", main.subfield("a").map(Self.clean))
            field.add("i", main.subfield("p").map(Self.clean))
            field.add("v", main.subfield("v").map(Self.clean))
            field.add("x", main.subfield("x").map(Self.clean))
            add("225", field)
        }
        for (from, to) in [("500", "300"), ("504", "320"), ("520", "330")] {
            for note in source.all(MARCTag(from)!) {
                let main = record.vernacular(of: note) ?? note
                add(to, OutputField(subfields: main.subfield("a").map { [(Character("a"), $0.trimmed)] } ?? []))
            }
        }
        for subject in source.all("650") + source.all("651") {
            var field = OutputField()
            for subfield in subject.subfields {
                let code: Character? = switch subfield.code {
                case UInt8(ascii: "a"): "a"
                case UInt8(ascii: "x"): "x"
                case UInt8(ascii: "z"): "y"
                case UInt8(ascii: "y"): "z"
                case UInt8(ascii: "v"): "j"
                default: nil
                }
                if let code { field.add(code, Self.clean(subfield.value)) }
            }
            add(subject.tag.string == "650" ? "606" : "607", field)
        }
        if let dewey = source.first("082")?.subfield("a") {
            var field = OutputField(subfields: [("a", dewey.trimmed)])
            field.add("v", source.first("082")?.subfield("2"))
            add("676", field)
        }
        if let lcc = source.first("050") {
            var field = OutputField()
            field.add("a", lcc.subfield("a"))
            field.add("b", lcc.subfield("b"))
            add("680", field)
        }
        if let main = source.first("100") { add("700", personalName(main, in: record)) }
        if let main = source.first("110") { add("710", corporateName(main, in: record)) }
        for added in source.all("700") {
            add(Self.isSecondary(added) ? "702" : "701", personalName(added, in: record))
        }
        for added in source.all("710") {
            add(Self.isSecondary(added) ? "712" : "711", corporateName(added, in: record))
        }
        if let agency = source.first("040")?.subfield("a")?.trimmed, !agency.isEmpty {
            var field = OutputField(indicators: (" ", "0"))
            field.add("a", agency.hasPrefix("DLC") ? "US" : nil)
            field.add("b", agency)
            if let stamp = source.first("005")?.value, stamp.count >= 8 { field.add("c", String(stamp.prefix(8))) }
            add("801", field)
        }
        if let transcribingAgency {
            add("801", OutputField(indicators: (" ", "2"), subfields: [("a", "CN"), ("b", transcribingAgency)]))
        }

        for tag in ["001", "003", "005"] {
            if let control = source.first(MARCTag(tag)!) { output.appendControlField(MARCTag(tag)!, value: control.value) }
        }
        for (tag, field) in fields.enumerated().sorted(by: { ($0.element.tag, $0.offset) < ($1.element.tag, $1.offset) }).map(\.element) {
            output.appendDataField(
                MARCTag(tag)!, indicators: (field.indicators.0.asciiValue ?? 0x20, field.indicators.1.asciiValue ?? 0x20),
                subfields: field.subfields.map { (code: $0.code.asciiValue ?? 0x61, value: $0.value) })
        }
        return output
    }

    private func personalName(_ field: MARCField, in record: LinkedRecord) -> OutputField {
        let vernacular = record.vernacular(of: field)
        let name = Self.clean(field.subfield("a") ?? "")
        var output = OutputField()
        if let native = vernacular?.subfield("a").map(Self.clean), Self.hasHan(native) {
            // A Chinese, Japanese or Korean name in its script is one string, in direct order.
            output.indicators = (" ", "0")
            output.add("a", native)
            output.add("A", name.replacing(",", with: ""))
        } else if let comma = name.firstIndex(of: ",") {
            output.indicators = (" ", "1")
            output.add("a", String(name[..<comma]).trimmed)
            output.add("b", Self.clean(String(name[name.index(after: comma)...])))
        } else {
            output.indicators = (" ", "0")
            output.add("a", name)
        }
        output.add("f", field.subfield("d").map(Self.clean))
        for relator in field.subfields("e") + field.subfields("4") { output.add("4", Self.clean(relator)) }
        return output
    }

    private func corporateName(_ field: MARCField, in record: LinkedRecord) -> OutputField {
        let main = record.vernacular(of: field) ?? field
        var output = OutputField(indicators: ("0", "2"))
        output.add("a", main.subfield("a").map(Self.clean))
        if record.vernacular(of: field) != nil { output.add("A", field.subfield("a").map(Self.clean)) }
        for value in main.subfields("b") { output.add("b", Self.clean(value)) }
        for relator in field.subfields("e") + field.subfields("4") { output.add("4", Self.clean(relator)) }
        return output
    }

    /// Editors, translators, illustrators and the like are secondary responsibility (702/712), authors alternative.
    private static func isSecondary(_ field: MARCField) -> Bool {
        let relators = (field.subfields("e") + field.subfields("4")).joined(separator: " ").lowercased()
        return ["ed", "trl", "tr", "ill", "comp", "edt", "editor", "translator", "illustrator", "compiler"].contains {
            relators.contains($0)
        }
    }

    // MARK: Coded data

    static func leader(from source: Leader) -> Leader {
        var leader = Leader("     nam0 22        450 ")
        leader[5] = [UInt8(ascii: "c"), UInt8(ascii: "d"), UInt8(ascii: "n")].contains(source[5]) ? source[5] : UInt8(ascii: "n")
        leader[6] = switch source[6] {
        case UInt8(ascii: "m"): UInt8(ascii: "l")
        case UInt8(ascii: "t"): UInt8(ascii: "b")
        case UInt8(ascii: "o"), UInt8(ascii: "p"): UInt8(ascii: "m")
        case 0x61...0x7A: source[6]
        default: UInt8(ascii: "a")
        }
        leader[7] = switch source[7] {
        case UInt8(ascii: "a"), UInt8(ascii: "c"), UInt8(ascii: "i"), UInt8(ascii: "s"): source[7]
        default: UInt8(ascii: "m")
        }
        leader[8] = source[7] == UInt8(ascii: "a") ? UInt8(ascii: "2") : UInt8(ascii: "0")
        leader[17] = switch source[17] {
        case 0x20: 0x20
        case UInt8(ascii: "1"), UInt8(ascii: "4"): UInt8(ascii: "1")
        case UInt8(ascii: "5"), UInt8(ascii: "8"): UInt8(ascii: "2")
        default: UInt8(ascii: "3")
        }
        // UNIMARC 18: blank is full ISBD, `i` partial, `n` none; MARC21 says AACR2 or ISBD with `a`/`i`.
        leader[18] = [UInt8(ascii: "a"), UInt8(ascii: "i"), UInt8(ascii: "c")].contains(source[18]) ? 0x20 : UInt8(ascii: "i")
        return leader
    }

    /// 100 $a: 36 coded characters from the MARC21 008, declaring UTF-8 (ISO 10646, "50").
    static func generalProcessingData(fixed: [UInt8], language: String, cataloguing: String) -> String {
        func text(_ range: Range<Int>, _ fallback: String) -> String {
            guard fixed.count >= range.upperBound else { return fallback }
            return String(decoding: fixed[range], as: UTF8.self)
        }
        let entered = text(0..<6, "000101")
        let century = (Int(entered.prefix(2)) ?? 0) >= 68 ? "19" : "20"
        let dateType: Character = switch text(6..<7, "s") {
        case "m": "g"
        case "r": "e"
        case "t": "h"
        case "q": "f"
        case "c": "a"
        case "d": "b"
        case "n", "|": "u"
        default: "d"
        }
        let first = text(7..<11, "    ").replacing("u", with: " ")
        var second = text(11..<15, "    ").replacing("u", with: " ")
        if second.trimmed.isEmpty || dateType == "d" { second = "    " }
        let script = switch language {
        case "chi": "ea"
        case "jpn": "da"
        case "kor": "ka"
        default: "ba"
        }
        // Entered, date type, dates, audience, government publication, modification, language and transliteration
        // of cataloguing, character sets, script of the title.
        return century + entered + String(dateType) + first + second + "km " + "y0" + cataloguing + "y" + "50  " + "    " + script
    }

    /// MARC country codes to ISO 3166 for 102 $a, for the countries a consortium's records mostly come from.
    static let countries: [String: String] = [
        "cc": "CN", "ch": "TW", "hk": "HK", "ja": "JP", "ko": "KR", "kn": "KP", "si": "SG", "xxu": "US", "xxk": "GB",
        "enk": "GB", "fr": "FR", "gw": "DE", "ru": "RU", "xxc": "CA", "at": "AU",
    ]

    // MARK: Text

    /// Drops ISBD punctuation at the end of a subfield (" /", " :", " ;", " =", ","), and a closing full stop
    /// unless it ends an abbreviation or an initial ("ill.", "p.", "J.").
    static func clean(_ value: String) -> String {
        var text = value.trimmed[...]
        while let last = text.last, "/:;=,".contains(last) || last == " " { text = text.dropLast() }
        if text.last == ".", let word = text.split(separator: " ").last?.dropLast(), word.count > 3 || hasHan(String(word)) {
            text = text.dropLast()
        }
        return String(text).trimmed
    }

    static func stripParentheses(_ value: String) -> String {
        value.trimmed.trimmingCharacters(in: "()").trimmed
    }

    static func hasHan(_ text: String) -> Bool {
        text.unicodeScalars.contains { (0x3400...0x9FFF).contains($0.value) || (0xAC00...0xD7AF).contains($0.value) }
    }

    /// Non-filing characters between NSB and NSE (U+0088, U+0089), as UNIMARC marks them.
    static func markNonFiling(_ title: String, count: Int) -> String {
        guard count > 0, count < title.count else { return title }
        let index = title.index(title.startIndex, offsetBy: count)
        return "\u{88}" + title[..<index] + "\u{89}" + title[index...]
    }
}

/// A field being built: indicators and subfields as characters and strings.
struct OutputField {
    var indicators: (Character, Character) = (" ", " ")
    var subfields: [(code: Character, value: String)] = []

    init(indicators: (Character, Character) = (" ", " "), subfields: [(Character, String)] = []) {
        self.indicators = indicators
        self.subfields = subfields.filter { !$0.1.isEmpty }.map { (code: $0.0, value: $0.1) }
    }

    mutating func add(_ code: Character, _ value: String?) {
        guard let value, !value.trimmed.isEmpty else { return }
        subfields.append((code, value))
    }

    mutating func insert(_ code: Character, _ value: String, after previous: Character) {
        let index = subfields.firstIndex { $0.code == previous }.map { $0 + 1 } ?? subfields.count
        subfields.insert((code, value), at: index)
    }
}

/// A MARC21 record with its 880 vernacular twins found by their `$6` linkage.
struct LinkedRecord {
    private var twins: [String: MARCField] = [:]

    init(_ record: MARCRecord) {
        for field in record.all("880") {
            // "245-02/$1": the linked tag and occurrence.
            guard let link = field.subfield("6"), link.count >= 6 else { continue }
            let key = String(link.prefix(6))
            if !key.hasSuffix("-00") { twins[key] = field }
        }
    }

    /// The 880 linked to `field` ("880-02" in its `$6`), if any.
    func vernacular(of field: MARCField) -> MARCField? {
        guard let link = field.subfield("6"), link.hasPrefix("880-"), link.count >= 6 else { return nil }
        let occurrence = link.dropFirst(4).prefix(2)
        return twins["\(field.tag.string)-\(occurrence)"]
    }
}

extension StringProtocol {
    fileprivate var trimmed: String { String(trimmingSpaces) }

    fileprivate func replacing(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = self[...]
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
