import MARC
import Store

/// Reads holdings out of MARC records: MARC21 852 with its 866–868 summaries, in a bibliographic record or a
/// holdings record (MFHD), and CNMARC 905. Each 852 (or 905) is one holding: a location of one institution;
/// summaries go to the 852 they follow (by `$8` link when given, else the 852 before them, else the first).
public enum HoldingsExtractor {
    /// MARC21 holdings records: leader/06 `u`, `v`, `x`, `y`.
    public static let holdingsRecordTypes = Set("uvxy".utf8)

    public static func isHoldingsRecord(_ record: MARCRecord) -> Bool {
        !record.flavour.isUNIMARCFamily && holdingsRecordTypes.contains(record.leader.typeOfRecord)
    }

    /// The bib a holdings record belongs to: its 004; without one (SIRSI exports), its own 001 is the bib's.
    public static func bibliographicID(ofHoldingsRecord record: MARCRecord) -> String? {
        if let link = record.first("004")?.value.trimmingSpaces, !link.isEmpty { return String(link) }
        return record.controlNumber
    }

    public static func holdings(of record: MARCRecord) -> [HoldingStatement] {
        record.flavour.isUNIMARCFamily ? cnmarc(record) : marc21(record)
    }

    static func marc21(_ record: MARCRecord) -> [HoldingStatement] {
        var holdings: [HoldingStatement] = []
        var byLink: [String: Int] = [:]
        for field in record.fields where field.tag == "852" || ["866", "867", "868"].contains(field.tag.string) {
            if field.tag == "852" {
                let call = [field.subfield("k"), field.subfield("h"), field.subfield("i"), field.subfield("m")]
                    .compactMap { $0?.trimmingSpaces }.filter { !$0.isEmpty }.joined(separator: " ")
                let location = [field.subfield("b"), field.subfield("c")].compactMap { $0?.trimmingSpaces }.filter { !$0.isEmpty }
                    .joined(separator: " / ")
                holdings.append(
                    HoldingStatement(
                        institution: field.subfield("a").map { String($0.trimmingSpaces) }.flatMap { $0.isEmpty ? nil : $0 },
                        location: location.isEmpty ? nil : location, callNumber: call.isEmpty ? nil : call,
                        items: nil, summary: nil))
                if let link = field.subfield("8")?.split(separator: ".").first { byLink[String(link)] = holdings.count - 1 }
                continue
            }
            guard let text = field.subfield("a")?.trimmingSpaces, !text.isEmpty else { continue }
            let label = field.tag == "867" ? "supplements: " : field.tag == "868" ? "indexes: " : ""
            let linked = field.subfield("8")?.split(separator: ".").first.flatMap { byLink[String($0)] }
            if holdings.isEmpty { holdings.append(HoldingStatement()) }
            let index = linked ?? holdings.count - 1
            let existing = holdings[index].summary.map { $0 + "; " } ?? ""
            holdings[index].summary = existing + label + text
        }
        return holdings
    }

    /// CNMARC 905: $a institution, $b accession number (one per copy), $c location, $d class number, $e book
    /// number, $f volume, $s the call number as shelved; CALIS records one 905 per institution and location.
    static func cnmarc(_ record: MARCRecord) -> [HoldingStatement] {
        record.all("905").map { field in
            let call = field.subfield("s")?.trimmingSpaces
                ?? [field.subfield("d"), field.subfield("e")].compactMap { $0?.trimmingSpaces }.joined(separator: "/")[...]
            let copies = field.subfields("b").count
            return HoldingStatement(
                institution: field.subfield("a").map { String($0.trimmingSpaces) }.flatMap { $0.isEmpty ? nil : $0 },
                location: field.subfield("c").map { String($0.trimmingSpaces) }.flatMap { $0.isEmpty ? nil : $0 },
                callNumber: call.isEmpty ? nil : String(call), items: copies > 0 ? copies : nil,
                summary: field.subfield("f").map { String($0.trimmingSpaces) }.flatMap { $0.isEmpty ? nil : $0 })
        }
    }
}
