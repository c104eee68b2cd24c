import Foundation
import Holdings
import MARC
import Store
import Testing

/// Holdings embedded in bibliographic records as item fields, the way library systems export them.
@Suite("holdings from item fields")
struct HoldingsExtractorTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MARCTests/Fixtures")

    static func records(_ name: String) throws -> [String: MARCRecord] {
        let reader = try MARCReaders.open(path: fixtures.appendingPathComponent(name).path).reader
        var records: [String: MARCRecord] = [:]
        while let item = try reader.next() {
            if let record = item.record, let id = record.controlNumber { records[id] = record }
        }
        return records
    }

    static func sub(_ pairs: [(Character, String)]) -> [(code: UInt8, value: String)] {
        pairs.map { (UInt8(ascii: $0.0.unicodeScalars.first!), $0.1) }
    }

    @Test("SirsiDynix 999s (Stanford's real records): one holding per library, location and call number; withdrawn copies are not holdings")
    func sirsiDynixItems() throws {
        let records = try Self.records("stanford-999-items.xml")
        let keepOne = HoldingsExtractor.holdings(of: try #require(records["akeepOne"]))
        #expect(keepOne == [
            HoldingStatement(location: "GREEN / STACKS", callNumber: "KEEP", items: 1),
            HoldingStatement(location: "SAL / MAPCASES-S", callNumber: "SKIP", items: 1),
        ])
        // The second copy's current location ($k) is WITHDRAWN.
        #expect(HoldingsExtractor.holdings(of: try #require(records["amultSkip"])) == [
            HoldingStatement(location: "GREEN / FED-DOCS-S", callNumber: "Z7164.T23.W45", items: 1)
        ])
        #expect(HoldingsExtractor.holdings(of: try #require(records["askipCurrLoc"])).isEmpty)
        #expect(HoldingsExtractor.holdings(of: try #require(records["aNoItems"])).isEmpty)

        let cjk = try Self.records("stanford-u2103-utf8.mrc")
        #expect(HoldingsExtractor.holdings(of: try #require(cjk.values.first)) == [
            HoldingStatement(location: "FINE-ARTS / FA-OVERSZE", callNumber: "NA1547 .P6 T9 1982", items: 1)
        ])
    }

    @Test("Koha 952s (a constructed record in Koha's layout): copies counted per branch, location and call number; lost and withdrawn left out")
    func kohaItems() throws {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: "koha-1")
        record.appendDataField("245", indicators: (0x31, 0x30), subfields: Self.sub([("a", "Koha test")]))
        record.appendDataField("952", subfields: Self.sub([("a", "MAIN"), ("b", "MAIN"), ("c", "STACKS"), ("o", "QA76 .K6"), ("p", "3901"), ("0", "0"), ("1", "0")]))
        record.appendDataField("952", subfields: Self.sub([("a", "MAIN"), ("b", "MAIN"), ("c", "STACKS"), ("o", "QA76 .K6"), ("p", "3902")]))
        record.appendDataField("952", subfields: Self.sub([("a", "BR2"), ("c", "REF"), ("o", "QA76 .K6"), ("p", "3903")]))
        record.appendDataField("952", subfields: Self.sub([("a", "BR2"), ("c", "REF"), ("o", "QA76 .K6"), ("p", "3904"), ("1", "1")]))
        record.appendDataField("952", subfields: Self.sub([("a", "BR2"), ("c", "REF"), ("o", "QA76 .K6"), ("p", "3905"), ("0", "1")]))
        // Not an item: no barcode or call number.
        record.appendDataField("952", subfields: Self.sub([("a", "BR3")]))
        #expect(HoldingsExtractor.holdings(of: record) == [
            HoldingStatement(location: "MAIN / STACKS", callNumber: "QA76 .K6", items: 2),
            HoldingStatement(location: "BR2 / REF", callNumber: "QA76 .K6", items: 1),
        ])
    }

    @Test("MARC21 876 items count on the 852 their $8 links them to, else the 852 before them; an 852 wins over local item fields")
    func standardItems() throws {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: "items-1")
        record.appendDataField("852", subfields: Self.sub([("8", "1"), ("b", "MAIN"), ("h", "QA76")]))
        record.appendDataField("852", subfields: Self.sub([("8", "2"), ("b", "ANNEX"), ("h", "QA76")]))
        record.appendDataField("876", subfields: Self.sub([("8", "1.1"), ("p", "A1")]))
        record.appendDataField("876", subfields: Self.sub([("8", "1.2"), ("p", "A2")]))
        record.appendDataField("876", subfields: Self.sub([("p", "B1")]))
        record.appendDataField("999", subfields: Self.sub([("a", "QA76"), ("i", "X1"), ("m", "GREEN")]))
        let holdings = HoldingsExtractor.holdings(of: record)
        #expect(holdings.map(\.location) == ["MAIN", "ANNEX"])
        #expect(holdings.map(\.items) == [2, 1])
    }

    @Test("ISO 20775 holdings XML is told from MARC, MARCXML and other XML by its first byte and its namespace")
    func holdingsXMLIsRecognised() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-sniff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let holdings = #"<holdings xmlns="http://www.loc.gov/standards/iso20775/"><holding/></holdings>"#
        #expect(ISO20775Reader.isHoldingsXML(path: try file("plain.xml", Array(holdings.utf8))))
        #expect(ISO20775Reader.isHoldingsXML(path: try file("bom.xml", [0xEF, 0xBB, 0xBF] + Array(" \r\n\t<?xml version=\"1.0\"?>\n\(holdings)".utf8))))
        #expect(ISO20775Reader.isHoldingsXML(path: Self.fixtures.appendingPathComponent("dp2-bnu-isohold.xml").path))
        #expect(!ISO20775Reader.isHoldingsXML(path: Self.fixtures.appendingPathComponent("loc-books-50.mrc").path), "ISO 2709")
        #expect(!ISO20775Reader.isHoldingsXML(path: Self.fixtures.appendingPathComponent("dp2-bnu-cnmarc-sru.xml").path), "MARCXML over SRU")
        // A MARC record whose text names the namespace is still MARC.
        #expect(!ISO20775Reader.isHoldingsXML(path: try file("marc.mrc", Array("00100nam  2200037   4500\(holdings)".utf8))))
        let late = "<x>" + String(repeating: " ", count: 70_000) + holdings + "</x>"
        #expect(!ISO20775Reader.isHoldingsXML(path: try file("late.xml", Array(late.utf8))), "the namespace must come in the first 64 KiB")
        #expect(!ISO20775Reader.isHoldingsXML(path: try file("empty.xml", [])))
        #expect(!ISO20775Reader.isHoldingsXML(path: directory.appendingPathComponent("missing.xml").path))
    }
}
