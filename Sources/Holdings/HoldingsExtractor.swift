import MARC
import Store

/// Reads holdings out of MARC records: MARC21 852 with its 866–868 summaries and 876–878 items, in a bibliographic
/// record or a holdings record (MFHD), and CNMARC 905. Each 852 (or 905) is one holding: a location of one
/// institution; summaries and items go to the 852 they follow (by `$8` link when given, else the 852 before them).
/// A record without 852 may carry its items the way integrated library systems export them: SirsiDynix 999 or
/// Koha 952, one field per copy, gathered into one holding per library, location and call number.
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
        if record.flavour.isUNIMARCFamily { return cnmarc(record) }
        let standard = marc21(record)
        return standard.isEmpty ? itemFields(record) : standard
    }

    static func marc21(_ record: MARCRecord) -> [HoldingStatement] {
        var holdings: [HoldingStatement] = []
        var byLink: [String: Int] = [:]
        for field in record.fields where field.tag == "852" || ["866", "867", "868", "876", "877", "878"].contains(field.tag.string) {
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
            if field.tag.string.hasPrefix("87") {
                // An item (copy): counted on its holding.
                guard !holdings.isEmpty else { continue }
                let linked = field.subfield("8")?.split(separator: ".").first.flatMap { byLink[String($0)] }
                let index = linked ?? holdings.count - 1
                holdings[index].items = (holdings[index].items ?? 0) + 1
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

    /// SirsiDynix 999 ($m library, $l home location, $k current location, $a call number, $i barcode) and Koha 952 ($a home library, $c
    /// shelving location, $o call number, $p barcode; $0 withdrawn and $1 lost when not 0). A library or branch
    /// code here is the member's own, never another institution: it goes into the location. Copies withdrawn,
    /// lost, missing or discarded are not holdings.
    static func itemFields(_ record: MARCRecord) -> [HoldingStatement] {
        struct Key: Hashable {
            var location: String?
            var callNumber: String?
        }
        var order: [Key] = []
        var counts: [Key: Int] = [:]
        func add(library: String?, location: String?, callNumber: String?) {
            let place = [library, location].compactMap { $0 }.joined(separator: " / ")
            let key = Key(location: place.isEmpty ? nil : place, callNumber: callNumber)
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        func value(_ field: MARCField, _ code: Character) -> String? {
            field.subfield(code).map { String($0.trimmingSpaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        for field in record.all("999") {
            // A 999 of another kind (OCLC's, a system number alone) names no copy.
            guard value(field, "i") != nil || value(field, "m") != nil else { continue }
            let location = value(field, "l")
            if [value(field, "k"), value(field, "l")].contains(where: { place in place.map { Self.isGone($0) } ?? false }) { continue }
            add(library: value(field, "m"), location: location, callNumber: value(field, "a"))
        }
        for field in record.all("952") {
            guard value(field, "a") != nil || value(field, "b") != nil, value(field, "p") != nil || value(field, "o") != nil else { continue }
            if [value(field, "0"), value(field, "1")].contains(where: { $0 != nil && $0 != "0" }) { continue }
            add(library: value(field, "a") ?? value(field, "b"), location: value(field, "c"), callNumber: value(field, "o"))
        }
        return order.map { HoldingStatement(location: $0.location, callNumber: $0.callNumber, items: counts[$0]) }
    }

    /// SirsiDynix home ($l) or current ($k) locations of copies that are no longer held.
    static func isGone(_ location: String) -> Bool {
        let upper = location.uppercased()
        return ["WITHDRAWN", "DISCARD", "LOST", "MISSING"].contains { upper.hasPrefix($0) }
    }
}
