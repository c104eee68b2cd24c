import MARC
import Store

/// Takes the normalised match keys out of a bibliographic record, MARC21 or UNIMARC/CNMARC alike.
public enum MatchKeyExtractor {
    public static func keys(of record: MARCRecord) -> [MatchKey] {
        var keys: [MatchKey] = []
        func add(_ kind: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            let key = MatchKey(kind, value)
            if !keys.contains(key) { keys.append(key) }
        }
        if record.flavour.isUNIMARCFamily {
            for field in record.all("010") {
                for text in field.subfields("a") { add(isbnKind(text), isbn(text)) }
            }
            for field in record.all("011") { for text in field.subfields("a") { add("issn", Identifiers.issn(text)) } }
            for field in record.all("200") {
                if let title = field.subfield("a") { add("title", TitleKey.normalise(TitleKey.filingForm(title, nonFiling: 0))) }
            }
            return keys
        }
        for field in record.all("020") {
            for text in field.subfields("a") { add(isbnKind(text), isbn(text)) }
        }
        for field in record.all("022") { for text in field.subfields("a") { add("issn", Identifiers.issn(text)) } }
        for field in record.all("010") { for text in field.subfields("a") { add("lccn", Identifiers.lccn(text)) } }
        for field in record.all("035") { for text in field.subfields("a") { add("oclc", Identifiers.oclc(text)) } }
        // The title as romanised and, in an 880 linked to 245, in the vernacular: another library may carry either.
        for field in record.all("245") + record.all("880").filter({ $0.subfield("6")?.hasPrefix("245") == true }) {
            guard let title = field.subfield("a") else { continue }
            let nonFiling = field.indicator2 >= 0x30 && field.indicator2 <= 0x39 ? Int(field.indicator2 - 0x30) : 0
            add("title", TitleKey.normalise(TitleKey.filingForm(title, nonFiling: nonFiling)))
        }
        return keys
    }

    private static func isbn(_ text: String) -> String? {
        Identifiers.isbn13(text) ?? (Identifiers.leadingIdentifier(text, lengths: [10, 13]).map { $0 })
    }

    /// A valid ISBN is an identifier; one with a wrong check digit is kept apart, as weak evidence only.
    private static func isbnKind(_ text: String) -> String {
        Identifiers.isbn13(text) == nil ? "isbn-invalid" : "isbn"
    }
}
