import CalisdTesting
import CHanziFold
import Dedup
import Foundation
import GRDB
import MARC
import Store
import Testing

@Suite("match keys and the identifier+title union matcher")
struct MatchKeyTests {
    @Test("ISBNs: 10 to 13 with the check digit, hyphens and qualifiers ignored, bad check digits refused", arguments: [
        ("0-19-852663-6 (pbk.)", "9780198526636"),
        ("019852663X", nil),
        ("ISBN 978-7-02-002442-1", "9787020024421"),
        ("9787020024420", nil),
        ("080442957X", "9780804429573"),
        ("3-540-43024-", nil),
        ("(pbk.) 0198526636", nil),
    ] as [(String, String?)])
    func isbn(text: String, expected: String?) {
        #expect(Identifiers.isbn13(text) == expected)
    }

    @Test("ISSN with its check character; LCCN by LoC's rule; OCLC numbers from 035 only with their prefix")
    func otherIdentifiers() {
        #expect(Identifiers.issn("0317-8471") == "0317-8471")
        #expect(Identifiers.issn("0317-8472") == nil)
        #expect(Identifiers.issn("2434-561x") == "2434-561X")
        #expect(Identifiers.lccn("n 78-890351 ") == "n78890351")
        #expect(Identifiers.lccn("85-2 ") == "85000002")
        #expect(Identifiers.lccn("   00000002 ") == "00000002")
        #expect(Identifiers.lccn("2001-000002/rev") == "2001000002")
        #expect(Identifiers.oclc("(OCoLC)ocm00012345") == "12345")
        #expect(Identifiers.oclc("(OCoLC)on1234567890") == "1234567890")
        #expect(Identifiers.oclc("(DLC)12345") == nil)
    }

    @Test("titles: case, diacritics, width and punctuation of every script folded; the 245 non-filing article skipped")
    func titles() {
        #expect(TitleKey.normalise("The Great Gatsby / ") == "the great gatsby")
        #expect(TitleKey.normalise("Émile, ou De l'éducation") == "emile ou de l education")
        #expect(TitleKey.normalise("红楼梦：全本。") == "红楼梦 全本")
        #expect(TitleKey.normalise("ＡＢＣ　１２３") == "abc 123")
        #expect(TitleKey.normalise("...") == nil)
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: "x")
        record.appendDataField("245", indicators: (0x31, 0x34), subfields: [(UInt8(ascii: "a"), "The hobbit :"), (UInt8(ascii: "b"), "or there and back again")])
        record.appendDataField("880", indicators: (0x31, 0x30), subfields: [(UInt8(ascii: "6"), "245-01"), (UInt8(ascii: "a"), "霍比特人")])
        record.appendDataField("020", subfields: [(UInt8(ascii: "a"), "0261102214 (pbk.)")])
        record.appendDataField("020", subfields: [(UInt8(ascii: "a"), "0261102215")])
        let keys = MatchKeyExtractor.keys(of: record)
        #expect(keys.contains(MatchKey("title", "hobbit")))
        #expect(keys.contains(MatchKey("title", "霍比特人")))
        #expect(keys.contains(MatchKey("isbn", "9780261102217")))
        #expect(keys.contains(MatchKey("isbn-invalid", "0261102215")))
    }

    @Test("traditional Chinese folds to simplified from Unihan's data: thousands of characters, ambiguous ones left alone")
    func traditionalToSimplified() {
        #expect(calisd_hanzi_fold_count() >= 2_000)
        let pairs: [(String, String)] = [("國", "国"), ("學", "学"), ("書", "书"), ("體", "体"), ("愛", "爱"), ("樓", "楼"), ("夢", "梦"), ("圖", "图"), ("館", "馆")]
        for (traditional, simplified) in pairs {
            #expect(calisd_hanzi_simplified(traditional.unicodeScalars.first!.value) == simplified.unicodeScalars.first!.value)
        }
        // 乾 is both the traditional form of 干 and a simplified character in its own right (乾坤): kept.
        #expect(calisd_hanzi_simplified("乾".unicodeScalars.first!.value) == "乾".unicodeScalars.first!.value)
        // Variant forms outside the traditional/simplified pairs, as older catalogues write them: 敎 = 教, 葯 = 藥 = 药.
        #expect(TitleKey.normalise("湘潭縣敎育志") == TitleKey.normalise("湘潭县教育志"))
        #expect(TitleKey.normalise("醫葯志") == "医药志")
        for standard in ["教", "药", "干", "后"] {
            #expect(calisd_hanzi_simplified(standard.unicodeScalars.first!.value) == standard.unicodeScalars.first!.value)
        }
        #expect(TitleKey.normalise("紅樓夢") == TitleKey.normalise("红楼梦"))
        #expect(TitleKey.normalise("中國圖書館學報") == "中国图书馆学报")
    }

    @Test(
        "the folding table holds every unambiguous kSimplifiedVariant pair of the Unihan it was made from",
        .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/unicode/Unihan_Variants.txt.bz2"), "needs unicode-data"))
    func foldingTableAgainstUnihan() throws {
        let output = try ProcessRunner.run("/usr/bin/bzcat", ["/usr/share/unicode/Unihan_Variants.txt.bz2"])
        #expect(output.status == 0)
        var checked = 0
        for line in output.stdoutText.split(separator: "\n") where line.hasPrefix("U+") {
            let columns = line.split(separator: "\t")
            guard columns.count == 3, columns[1] == "kSimplifiedVariant" else { continue }
            let source = UInt32(columns[0].dropFirst(2), radix: 16)!
            let targets = columns[2].split(separator: " ").map { UInt32($0.dropFirst(2).prefix { $0 != "<" }, radix: 16)! }
            guard targets.count == 1, targets[0] != source else { continue }
            #expect(calisd_hanzi_simplified(source) == targets[0], "U+\(String(source, radix: 16))")
            checked += 1
        }
        #expect(checked >= 6_000, "\(checked) pairs checked")
    }

    static func book(_ id: String, title: String, isbn: String) throws -> IncomingRecord {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: id)
        record.appendDataField("020", subfields: [(UInt8(ascii: "a"), isbn)])
        record.appendDataField("245", indicators: (0x30, 0x30), subfields: [(UInt8(ascii: "a"), title)])
        return IncomingRecord(
            localID: id, flavour: "marc21", originalEncoding: "utf-8", record: try ISO2709Writer.data(record),
            keys: MatchKeyExtractor.keys(of: record))
    }

    static func unionOf(_ store: CatalogStore, _ member: String, _ id: String) throws -> Int64? {
        try store.sourceRecord(member: member, localID: id)?.unionID
    }

    @Test("a shared ISBN with an agreeing title joins; a different title does not; no chaining through one member")
    func matcherJoinsOnlyWhenTheWholeClusterAgrees() throws {
        let store = try CatalogStore.inMemory()
        let matcher = IdentifierTitleMatcher()
        for code in ["A", "B", "C", "D"] { _ = try store.addMember(code: code, name: code) }
        func submit(_ member: String, _ records: [IncomingRecord]) throws {
            let file = try store.beginFile(member: member, name: "f", sha256: "0", size: 0, mode: "incremental")
            _ = try store.commitBatch(fileID: file, member: member, records: records, progress: records.count, matcher: matcher)
        }
        try submit("A", [try Self.book("1", title: "Moby Dick", isbn: "0-19-852663-6")])
        try submit("B", [try Self.book("1", title: "Moby-Dick!", isbn: "9780198526636")])
        try submit("C", [try Self.book("1", title: "A different book", isbn: "0198526636")])
        #expect(try Self.unionOf(store, "A", "1") == Self.unionOf(store, "B", "1"))
        #expect(try Self.unionOf(store, "C", "1") != Self.unionOf(store, "A", "1"))
        // D shares nothing but a title with the cluster: no identifier, no join.
        try submit("D", [try Self.book("1", title: "Moby Dick", isbn: "0-00-000000-0")])
        #expect(try Self.unionOf(store, "D", "1") != Self.unionOf(store, "A", "1"))
        #expect(try store.counts().unionRecords == 3)

        // B changes its title: it leaves the cluster for a union record of its own; A keeps the original id.
        let before = try Self.unionOf(store, "A", "1")
        try submit("B", [try Self.book("1", title: "Moby Dick; or, the whale (abridged)", isbn: "9780198526636")])
        #expect(try Self.unionOf(store, "A", "1") == before)
        #expect(try Self.unionOf(store, "B", "1") != before)
        #expect(try store.unionRecord(id: before!)?.sources.map(\.member) == ["A"])
    }
}

extension MatchKeyTests {
    static let sharedMARC = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/marc")

    @Test(
        "the per-character title folding gives what Foundation's whole-string folding gives, on 28,000 real LoC titles",
        .enabled(if: FileManager.default.fileExists(atPath: sharedMARC.path), "needs ../shared/data/marc"))
    func titleFoldingMatchesFoundation() throws {
        var compared = 0
        var differences: [String] = []
        for name in ["booksall-2016-part01-first20000.utf8.mrc", "booksall-2016-part01-cjk-first8000.utf8.mrc"] {
            let path = Self.sharedMARC.appendingPathComponent("lc-booksall-2016/\(name)").path
            let reader = ISO2709Reader(source: try FileByteSource(path: path))
            while let item = try reader.next() {
                guard let record = item.record else { continue }
                for field in record.all("245") + record.all("880") + record.all("260") + record.all("100") {
                    for text in field.subfields("a") + field.subfields("b") + field.subfields("c") {
                        compared += 1
                        if TitleKey.normalise(text) != TitleKey.normaliseWithFoundation(text), differences.count < 20 {
                            differences.append("\(text) → \(TitleKey.normalise(text) ?? "nil") / \(TitleKey.normaliseWithFoundation(text) ?? "nil")")
                        }
                    }
                }
            }
        }
        #expect(compared > 50_000)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}

extension MatchKeyTests {
    @Test("035 system numbers keep their system; OCLC is its own kind; a bare local ILS number is no identifier; CNMARC 091 too")
    func systemNumbers() {
        #expect(Identifiers.systemNumber("(CStRLIN)DCLP00-B10790") == "cstrlin:dclp00b10790")
        #expect(Identifiers.systemNumber("(DLC)   00049912") == "dlc:00049912")
        #expect(Identifiers.systemNumber("(OCoLC)ocm34987929") == nil)
        #expect(Identifiers.systemNumber("(aleph)000218074BNU03") == nil)
        #expect(Identifiers.systemNumber("34987929") == nil)
        #expect(Identifiers.systemNumber("(CStRLIN)") == nil)
        #expect(Identifiers.unifiedBookNumber("10019·3214") == "10019-3214")
        #expect(Identifiers.unifiedBookNumber("统一书号 7091.1234") == "7091-1234")
        #expect(Identifiers.unifiedBookNumber("12") == nil)
    }
}
