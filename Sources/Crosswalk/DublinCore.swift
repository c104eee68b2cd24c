import Foundation
import MARC

/// A bibliographic record as simple (unqualified) Dublin Core, the lowest common format of OAI-PMH (`oai_dc`)
/// and SRU (`dc`). MARC21 follows the Library of Congress MARC-to-DC crosswalk for the elements a union
/// catalogue has; UNIMARC and CNMARC take the same elements from their own fields. Vernacular 880 twins are
/// given beside the romanised values, so CJK titles and names appear in their own script.
public enum DublinCore {
    public struct Element: Sendable, Equatable {
        /// The DC element name: title, creator, subject, description, publisher, contributor, date, type,
        /// format, identifier, language, relation, coverage, rights, source.
        public var name: String
        public var value: String
    }

    public static func elements(of record: MARCRecord) -> [Element] {
        record.flavour.isUNIMARCFamily ? unimarc(record) : marc21(record)
    }

    private static func marc21(_ record: MARCRecord) -> [Element] {
        var output = Output()
        let twins = record.all("880")
        func withTwins(_ tag: String) -> [MARCField] {
            record.all(MARCTag(stringLiteral: tag)) + twins.filter { $0.subfield("6")?.hasPrefix(tag) == true }
        }
        for field in withTwins("245") { output.add("title", field, codes: "abfgknps") }
        for tag in ["100", "110", "111"] { for field in withTwins(tag) { output.add("creator", field, codes: "abcdq") } }
        for tag in ["700", "710", "711", "720"] { for field in withTwins(tag) { output.add("contributor", field, codes: "abcdq") } }
        for tag in ["600", "610", "611", "630", "650", "651", "653"] {
            for field in record.all(MARCTag(stringLiteral: tag)) { output.add("subject", field, codes: "abcdqtvxyz", separator: " -- ") }
        }
        for tag in ["500", "505", "520"] { for field in record.all(MARCTag(stringLiteral: tag)) { output.add("description", field, codes: "a") } }
        for tag in ["260", "264"] {
            for field in withTwins(tag) where tag == "260" || field.indicator2 == UInt8(ascii: "1") {
                output.add("publisher", field, codes: "ab")
            }
        }
        let fixed = record.first("008").map { Array($0.value.utf8) } ?? []
        let imprintDate = (record.first("264") ?? record.first("260"))?.subfield("c")
        if let date = imprintDate.map(clean), !date.isEmpty {
            output.add("date", date)
        } else if fixed.count >= 11, let year = String(bytes: fixed[7..<11], encoding: .ascii), year.allSatisfy(\.isNumber) {
            output.add("date", year)
        }
        output.add("type", marc21Type(record.leader))
        for field in record.all("300") { output.add("format", field, codes: "abce") }
        for field in record.all("020") { if let isbn = field.subfield("a") { output.add("identifier", "URN:ISBN:" + clean(isbn)) } }
        for field in record.all("022") { if let issn = field.subfield("a") { output.add("identifier", "URN:ISSN:" + clean(issn)) } }
        for field in record.all("856") { if let url = field.subfield("u") { output.add("identifier", url) } }
        if fixed.count >= 38, let language = String(bytes: fixed[35..<38], encoding: .ascii), language.allSatisfy(\.isLetter) {
            output.add("language", language)
        }
        for field in record.all("041") { for code in field.subfields("a") { output.add("language", code) } }
        for tag in ["490", "830"] { for field in record.all(MARCTag(stringLiteral: tag)) { output.add("relation", field, codes: "av") } }
        for field in record.all("506") { output.add("rights", field, codes: "a") }
        for field in record.all("540") { output.add("rights", field, codes: "a") }
        return output.elements
    }

    private static func unimarc(_ record: MARCRecord) -> [Element] {
        var output = Output()
        for field in record.all("200") { output.add("title", field, codes: "aehi") }
        for tag in ["700", "710", "720"] { for field in record.all(MARCTag(stringLiteral: tag)) { output.add("creator", field, codes: "abcdf") } }
        for tag in ["701", "702", "711", "712", "721", "722"] {
            for field in record.all(MARCTag(stringLiteral: tag)) { output.add("contributor", field, codes: "abcdf") }
        }
        for tag in ["600", "601", "606", "607", "610"] {
            for field in record.all(MARCTag(stringLiteral: tag)) { output.add("subject", field, codes: "abxyz", separator: " -- ") }
        }
        for tag in ["300", "327", "330"] { for field in record.all(MARCTag(stringLiteral: tag)) { output.add("description", field, codes: "a") } }
        for tag in ["210", "214"] {
            for field in record.all(MARCTag(stringLiteral: tag)) {
                output.add("publisher", field, codes: "ac")
                if let date = field.subfield("d") { output.add("date", clean(date)) }
            }
        }
        output.add("type", unimarcType(record.leader))
        for field in record.all("215") { output.add("format", field, codes: "acd") }
        for field in record.all("010") { if let isbn = field.subfield("a") { output.add("identifier", "URN:ISBN:" + clean(isbn)) } }
        for field in record.all("011") { if let issn = field.subfield("a") { output.add("identifier", "URN:ISSN:" + clean(issn)) } }
        for field in record.all("856") { if let url = field.subfield("u") { output.add("identifier", url) } }
        for field in record.all("101") { for code in field.subfields("a") { output.add("language", code) } }
        for field in record.all("225") { output.add("relation", field, codes: "av") }
        return output.elements
    }

    private struct Output {
        var elements: [Element] = []
        var seen: Set<String> = []

        mutating func add(_ name: String, _ value: String?) {
            guard let value, !value.isEmpty, seen.insert(name + "\u{0}" + value).inserted else { return }
            elements.append(Element(name: name, value: value))
        }

        mutating func add(_ name: String, _ field: MARCField, codes: String, separator: String = " ") {
            let parts = field.subfields.filter { codes.utf8.contains($0.code) }.map { clean($0.value) }.filter { !$0.isEmpty }
            add(name, parts.joined(separator: separator))
        }
    }

    /// A subfield's value without the ISBD punctuation that ends it, and with CNMARC's non-sort marks taken out.
    static func clean(_ value: String) -> String {
        var text = value.replacingOccurrences(of: "\u{88}", with: "").replacingOccurrences(of: "\u{89}", with: "")
        text = text.trimmingCharacters(in: .whitespaces)
        while let last = text.last, " /:;,=".contains(last) || (last == "." && !text.hasSuffix("..") && text.count > 3) {
            text.removeLast()
            text = text.trimmingCharacters(in: .whitespaces)
        }
        return text
    }

    private static func marc21Type(_ leader: Leader) -> String? {
        switch leader.typeOfRecord {
        case UInt8(ascii: "a"), UInt8(ascii: "t"): return "Text"
        case UInt8(ascii: "c"), UInt8(ascii: "d"): return "Notated music"
        case UInt8(ascii: "e"), UInt8(ascii: "f"): return "Cartographic"
        case UInt8(ascii: "g"), UInt8(ascii: "k"): return "Image"
        case UInt8(ascii: "i"), UInt8(ascii: "j"): return "Sound"
        case UInt8(ascii: "m"): return "Software, multimedia"
        case UInt8(ascii: "r"): return "Physical object"
        case UInt8(ascii: "p"): return "Collection"
        default: return nil
        }
    }

    private static func unimarcType(_ leader: Leader) -> String? {
        switch leader.typeOfRecord {
        case UInt8(ascii: "a"), UInt8(ascii: "b"): return "Text"
        case UInt8(ascii: "c"), UInt8(ascii: "d"): return "Notated music"
        case UInt8(ascii: "e"), UInt8(ascii: "f"): return "Cartographic"
        case UInt8(ascii: "g"), UInt8(ascii: "k"): return "Image"
        case UInt8(ascii: "i"), UInt8(ascii: "j"): return "Sound"
        case UInt8(ascii: "l"): return "Software, multimedia"
        case UInt8(ascii: "r"): return "Physical object"
        default: return nil
        }
    }
}
