import Crosswalk
import Dedup
import Foundation
import MARC
import Store
import Testing

/// The MARC21 → CNMARC crosswalk on real LoC CJK records: what each CNMARC field holds, and that the converted
/// record is still the same book to the dedup engine.
@Suite("MARC21 to CNMARC")
struct MARC21ToCNMARCTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MARCTests/Fixtures/loc-cjk-20.mrc").path

    static func records() throws -> [MARCRecord] {
        let reader = ISO2709Reader(source: try FileByteSource(path: fixture))
        var records: [MARCRecord] = []
        while let item = try reader.next() {
            if let record = item.record { records.append(record) }
        }
        return records
    }

    static func subfields(_ record: MARCRecord, _ tag: MARCTag) -> [String] {
        record.all(tag).flatMap { field in field.subfields.map { "$\($0.codeString)\($0.value)" } }
    }

    @Test("the vernacular (880) becomes the content and the romanisation the pinyin subfield; ISBD punctuation goes")
    func vernacularFirst() throws {
        let source = try #require(Self.records().first)
        let record = MARC21ToCNMARC(transcribingAgency: "CALIS").convert(source)
        #expect(record.flavour == .cnmarc)
        #expect(record.controlNumber == "00049912")
        #expect(Self.subfields(record, "200") == ["$a頭戴之硬盔", "$ATou dai zhi ying kui", "$f[撰文・編輯吳正德]"])
        #expect(record.first("200")?.indicator1 == UInt8(ascii: "1"))
        #expect(Self.subfields(record, "205") == ["$a初版"])
        #expect(Self.subfields(record, "210") == ["$a台北縣三芝鄉", "$c財團法人李天禄布袋戲文敎基金會", "$d民國87 [1998]"])
        #expect(Self.subfields(record, "215") == ["$a55 p., [1] leaf of plates", "$ccol. ill.", "$d25 x 26 cm."])
        #expect(Self.subfields(record, "225") == ["$a李天禄布袋戲叢書", "$i圖像類", "$v1"])
        #expect(Self.subfields(record, "700") == ["$a吳正德", "$AWu Zhengde"])
        #expect(Self.subfields(record, "010") == ["$a9579823103"])
        #expect(Self.subfields(record, "101") == ["$achi"])
        #expect(Self.subfields(record, "102") == ["$aTW"])
        #expect(Self.subfields(record, "801") == ["$aUS", "$bDLC-R", "$c20070827", "$aCN", "$bCALIS"])
        #expect(record.all("880").isEmpty && record.all("245").isEmpty)
    }

    @Test("100 $a is 36 coded characters: date entered, date type, dates, UTF-8 (50) and the title's script")
    func generalProcessingData() throws {
        for source in try Self.records() {
            let coded = try #require(MARC21ToCNMARC().convert(source).first("100")?.subfield("a"))
            #expect(coded.count == 36, "\(coded)")
            #expect(coded.dropFirst(26).prefix(4) == "50  ")
            let fixed = try #require(source.first("008")?.value)
            #expect(coded.dropFirst(9).prefix(4) == fixed.dropFirst(7).prefix(4))
        }
    }

    @Test("leader: type and level carried, encoding level mapped, UNIMARC's fixed positions set")
    func leader() throws {
        var source = MARCRecord(leader: Leader("01230cam a22003137a 4500"))
        source.appendControlField("001", value: "x1")
        source.appendDataField("245", indicators: (0x31, 0x34), subfields: [(UInt8(ascii: "a"), "The water world /")])
        source.appendDataField("020", subfields: [(UInt8(ascii: "a"), "0198526636 (v. 2)"), (UInt8(ascii: "c"), "$12.00")])
        let record = MARC21ToCNMARC().convert(source)
        #expect(record.leader.string.dropFirst(5).prefix(4) == "cam0")
        #expect(record.leader[17] == UInt8(ascii: "3"))
        #expect(record.leader.string.suffix(4) == "450 ")
        // The non-filing article between NSB and NSE, as UNIMARC marks it.
        #expect(record.first("200")?.subfield("a") == "\u{88}The \u{89}water world")
        #expect(Self.subfields(record, "010") == ["$a0198526636", "$bv. 2", "$d$12.00"])
    }

    @Test("every converted record writes as ISO 2709 and reads back the same")
    func roundTrip() throws {
        for source in try Self.records() {
            let record = MARC21ToCNMARC().convert(source)
            let bytes = try ISO2709Writer.data(record)
            let reread = try #require(try ISO2709Reader(source: MemoryByteSource(bytes)).next()?.record)
            #expect(reread.fields.map(\.value) == record.fields.map(\.value))
        }
    }

    @Test("a CNMARC copy made by the crosswalk is the same book to the engine as its MARC21 original")
    func crosswalkedCopyMatches() throws {
        let sources = try Self.records()
        for source in sources {
            let converted = MARC21ToCNMARC().convert(source)
            let comparison = PairComparison(MatchKeyExtractor.keys(of: source), MatchKeyExtractor.keys(of: converted))
            #expect(comparison.decision == .match, "\(source.controlNumber ?? ""): \(comparison.findings)")
        }
        // And different books stay different across the two families.
        let first = MatchKeyExtractor.keys(of: sources[0])
        let other = MatchKeyExtractor.keys(of: MARC21ToCNMARC().convert(sources[2]))
        #expect(PairComparison(first, other).decision == .noMatch)
    }
}

extension MARC21ToCNMARCTests {
    @Test("a romanised-only MARC21 copy and a CNMARC one meet on pinyin (200 $A), which is never the title key")
    func pinyinBridgesScripts() throws {
        let source = try #require(Self.records().first { $0.first("020") != nil })
        var romanisedOnly = MARCRecord(leader: source.leader)
        for field in source.fields where field.tag != "880" && field.tag != "020" { romanisedOnly.append(field) }
        let cnmarc = MatchKeyExtractor.keys(of: MARC21ToCNMARC().convert(source)).filter { $0.kind != "isbn" }
        let romanised = MatchKeyExtractor.keys(of: romanisedOnly)
        #expect(!cnmarc.contains { $0.kind == "title" && $0.value.allSatisfy(\.isASCII) }, "pinyin is not a title key")
        let comparison = PairComparison(romanised, cnmarc)
        #expect(comparison.findings.contains { $0.field == "title" && $0.verdict == "similar" }, "\(comparison.findings)")
        #expect(comparison.decision == .match, "\(comparison.findings)")
    }
}
