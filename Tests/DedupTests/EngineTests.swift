import CalisdTesting
import Dedup
import Foundation
import MARC
import Store
import Testing

/// The engine's field-by-field decisions: what matches, what never merges, and its figures on labelled pairs.
@Suite("dedup engine")
struct EngineTests {
    /// A MARC21 book from its parts; nil parts are left out.
    static func book(
        title: String, subtitle: String? = nil, part: String? = nil, edition: String? = nil, year: String = "1899",
        publisher: String? = "Macmillan,", pages: String? = "xii, 284 p.", author: String? = "Smith, John,",
        language: String = "eng", type: String = "am", isbn: String? = nil
    ) -> [MatchKey] {
        var record = MARCRecord(leader: Leader("00000n\(type) a2200000 a 4500"))
        record.appendControlField("001", value: "x")
        record.appendControlField("008", value: "800108s\(year)    ilu           000 0 \(language) d")
        if let isbn { record.appendDataField("020", subfields: [(UInt8(ascii: "a"), isbn)]) }
        if let author { record.appendDataField("100", indicators: (0x31, 0x20), subfields: [(UInt8(ascii: "a"), author)]) }
        var title245: [(code: UInt8, value: String)] = [(UInt8(ascii: "a"), title)]
        if let subtitle { title245.append((UInt8(ascii: "b"), subtitle)) }
        if let part { title245.append((UInt8(ascii: "n"), part)) }
        record.appendDataField("245", indicators: (0x31, 0x30), subfields: title245)
        if let edition { record.appendDataField("250", subfields: [(UInt8(ascii: "a"), edition)]) }
        var imprint: [(code: UInt8, value: String)] = [(UInt8(ascii: "a"), "New York :")]
        if let publisher { imprint.append((UInt8(ascii: "b"), publisher)) }
        imprint.append((UInt8(ascii: "c"), year + "."))
        record.appendDataField("260", subfields: imprint)
        if let pages { record.appendDataField("300", subfields: [(UInt8(ascii: "a"), pages)]) }
        return MatchKeyExtractor.keys(of: record)
    }

    @Test("the same book catalogued differently matches: punctuation, subtitle present or not, a year off by one")
    func variantsMatch() {
        let base = Self.book(title: "The water world :", subtitle: "a popular treatise.")
        #expect(PairComparison(base, Self.book(title: "The water-world", subtitle: "a popular treatise")).decision == .match)
        #expect(PairComparison(base, Self.book(title: "The water world.")).decision == .match)
        let reprint = PairComparison(base, Self.book(title: "The water world :", subtitle: "a popular treatise.", year: "1900"))
        #expect(reprint.decision == .match, "a year alone is evidence, not a veto: \(reprint.findings)")
        #expect(reprint.findings.contains { $0.field == "year" && $0.verdict == "differ" })
    }

    @Test("explicit conflicts never merge, whatever is shared, the ISBN included", arguments: [
        ("part", Self.book(title: "History of England", part: "v. 2", isbn: "0198526636")),
        ("edition", Self.book(title: "History of England", edition: "2nd ed.", isbn: "0198526636")),
        ("material", Self.book(title: "History of England", type: "em", isbn: "0198526636")),
        ("language", Self.book(title: "History of England", language: "fre", isbn: "0198526636")),
        ("year+imprint", Self.book(title: "History of England", year: "1920", publisher: "Longmans,", isbn: "0198526636")),
    ])
    func conflictsVeto(field: String, other: [MatchKey]) {
        let base = Self.book(title: "History of England", part: field == "part" ? "v. 1" : nil,
            edition: field == "edition" ? "First edition" : nil, isbn: "0198526636")
        let comparison = PairComparison(base, other)
        #expect(comparison.decision == .noMatch)
        #expect(comparison.findings.contains { $0.field == field && $0.verdict == "conflict" }, "\(comparison.findings)")
    }

    @Test("edition statements compare as numbers: 2nd ed. = Second edition = 第2版 = 第二版; binding words are no volume")
    func editions() {
        let keys = ["2nd ed.", "Second edition", "第2版", "第二版"].map { Self.book(title: "红楼梦", edition: $0) }
        for other in keys.dropFirst() { #expect(PairComparison(keys[0], other).decision == .match) }
        #expect(PairComparison(keys[0], Self.book(title: "红楼梦", edition: "第3版")).decision == .noMatch)
        #expect(PairComparison(Self.book(title: "紅樓夢"), Self.book(title: "红楼梦")).decision == .match)
    }

    @Test("records with ISBNs that share none are different manifestations; so are parts of a series of hearings")
    func identifiersAndSeriesTitles() {
        let hardback = Self.book(title: "Asia", author: "Foster, Leila,", isbn: "9781575724485")
        let other = Self.book(title: "Asia", author: "Foster, Leila,", isbn: "9780516222349")
        let comparison = PairComparison(hardback, other)
        #expect(comparison.decision == .noMatch && comparison.findings.contains { $0.field == "isbn" && $0.verdict == "conflict" })
        let health = Self.book(title: "In the matter of a public hearing on the Governor's proposed budget for 2000-2001 : health, medicaid, aging")
        let economy = Self.book(title: "In the matter of a public hearing on the Governor's proposed budget for 2000-2001 : economic development, taxes")
        #expect(PairComparison(health, economy).decision == .noMatch)
        // Volumes are counted apart from pages: 2 v. against 3 v. is another set.
        #expect(PairComparison(Self.book(title: "Collected works", pages: "2 v."), Self.book(title: "Collected works", pages: "3 v.")).decision == .noMatch)
        #expect(PairComparison(Self.book(title: "Collected works", pages: "2 v."), Self.book(title: "Collected works", pages: "2 v. :")).decision == .match)
    }

    @Test("different books by one author in one year stay apart; a title alone is not enough")
    func differentBooksStayApart() {
        let a = Self.book(title: "Poems of the sea")
        #expect(PairComparison(a, Self.book(title: "Letters from Italy")).decision == .noMatch)
        // Same title, nothing else known on one side: not enough to merge.
        let bare = Self.book(title: "Poems", year: "1899", publisher: nil, pages: nil, author: nil)
        #expect(PairComparison(Self.book(title: "Poems", year: "1950", publisher: nil, pages: nil, author: "Other,"), bare).decision == .noMatch)
    }

    @Test("a record joins a cluster only if it matches every member of it, and the best such cluster")
    func noChaining() {
        let matcher = EngineMatcher()
        // b knows no extent and no author; a and c disagree on both.
        let a = Self.book(title: "The water world", pages: "284 p.", author: "Smith, John,")
        let b = Self.book(title: "The water world", pages: nil, author: nil)
        let c = Self.book(title: "The water world", pages: "400 p.", author: "Smyth, Jane,")
        #expect(PairComparison(a, b).decision == .match)
        #expect(PairComparison(c, b).decision == .match)
        #expect(PairComparison(c, a).decision == .noMatch)
        #expect(matcher.choose(for: c, among: [ClusterCandidate(unionID: 7, memberKeys: [a, b])]) == nil)
        #expect(matcher.choose(for: c, among: [ClusterCandidate(unionID: 7, memberKeys: [a, b]), ClusterCandidate(unionID: 9, memberKeys: [b])]) == 9)
        #expect(matcher.choose(for: Self.book(title: "Letters"), among: [ClusterCandidate(unionID: 7, memberKeys: [a, b])]) == nil)
    }

    static func serial(title: String, issn: String?, keyTitle: String?, continuedBy: String? = nil, continues: String? = nil) -> [MatchKey] {
        var record = MARCRecord(leader: Leader("00000nas a2200000 a 4500"))
        record.appendControlField("001", value: "s")
        record.appendControlField("008", value: "800108c19509999nyuqr p       0   a0eng d")
        if let issn { record.appendDataField("022", subfields: [(UInt8(ascii: "a"), issn)]) }
        if let keyTitle { record.appendDataField("222", indicators: (0x20, 0x30), subfields: [(UInt8(ascii: "a"), keyTitle)]) }
        record.appendDataField("245", indicators: (0x30, 0x30), subfields: [(UInt8(ascii: "a"), title)])
        if let continues { record.appendDataField("780", indicators: (0x30, 0x30), subfields: [(UInt8(ascii: "t"), continues)]) }
        if let continuedBy { record.appendDataField("785", indicators: (0x30, 0x30), subfields: [(UInt8(ascii: "t"), continuedBy)]) }
        return MatchKeyExtractor.keys(of: record)
    }

    @Test("serials match on ISSN or key title, not on a title alone, and never across a title change")
    func serials() {
        let journal = Self.serial(title: "Journal of library history", issn: "0022-2259", keyTitle: "Journal of library history")
        #expect(PairComparison(journal, Self.serial(title: "J. of library history", issn: "0022-2259", keyTitle: nil)).decision == .match)
        #expect(PairComparison(journal, Self.serial(title: "Journal of library history.", issn: nil, keyTitle: "Journal of library history")).decision == .match)
        #expect(PairComparison(journal, Self.serial(title: "Journal of library history", issn: nil, keyTitle: nil)).decision == .noMatch)
        // The successor title shares the ISSN in careless records; the 785 says it is another serial.
        let before = Self.serial(title: "Journal of library history", issn: "0022-2259", keyTitle: nil, continuedBy: "Libraries & culture")
        let after = Self.serial(title: "Libraries & culture", issn: "0022-2259", keyTitle: nil, continues: "Journal of library history")
        let change = PairComparison(before, after)
        #expect(change.decision == .noMatch && change.findings.contains { $0.field == "title-change" })
    }

    @Test("Chinese rare books before 1912 merge only on strong evidence, never on title alone")
    func rareBooks() {
        let print1 = Self.book(title: "紅樓夢", year: "1791", publisher: "萃文書屋,", pages: "120卷", author: "曹雪芹,", language: "chi")
        let print2 = Self.book(title: "红楼梦", year: "1791", publisher: "萃文書屋,", pages: "120卷", author: "曹雪芹,", language: "chi")
        #expect(PairComparison(print1, print2).decision == .match)
        let otherPress = Self.book(title: "红楼梦", year: "1791", publisher: "本衙藏板,", pages: nil, author: "曹雪芹,", language: "chi")
        let comparison = PairComparison(print1, otherPress)
        #expect(comparison.decision == .noMatch && comparison.findings.contains { $0.field == "rare-book" })
        // The same looseness is fine for a modern printing.
        let modern = Self.book(title: "红楼梦", year: "1982", publisher: "人民文学出版社,", pages: nil, author: "曹雪芹,", language: "chi")
        #expect(PairComparison(Self.book(title: "紅樓夢", year: "1982", publisher: "人民文学出版社,", pages: "3册", author: "曹雪芹,", language: "chi"), modern).decision == .match)
    }

    static let goldfinch = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/dedup/goldfinch-1.1-val")

    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("calisd").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("calisd").path
    }

    @Test(
        "Goldfinch validation pairs through calisd dedup eval: today's figures are the floor (P ≥ 0.995, F1 ≥ 0.95)",
        .enabled(
            if: FileManager.default.fileExists(atPath: goldfinch.appendingPathComponent("goldfinch_val_labels.csv").path),
            "needs ../shared/data/dedup/goldfinch-1.1-val"))
    func goldfinchFloor() throws {
        let result = try ProcessRunner.run(Self.binary, [
            "dedup", "eval", "--json", "--pairs", Self.goldfinch.appendingPathComponent("goldfinch_val_labels.csv").path,
            Self.goldfinch.appendingPathComponent("goldfinch_val.mij.ndjson").path,
        ])
        #expect(result.status == 0, "\(result.stderrText)")
        let body = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] ?? [:]
        let precision = body["precision"] as? Double ?? 0
        let f1 = body["f1"] as? Double ?? 0
        #expect(precision >= 0.995, "precision \(precision)")
        #expect(f1 >= 0.95, "F1 \(f1)")
        #expect(body["records"] as? Int == 20_416)
    }

    @Test("dedup eval refuses broken labels and missing files with a clear error")
    func evalBrokenInput() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-eval-test-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let labels = directory.appendingPathComponent("labels.csv").path
        try "id1,id2,label\na,b,maybe\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let records = directory.appendingPathComponent("books.mrc").path
        try Data([0x30]).write(to: URL(fileURLWithPath: records))
        let bad = try ProcessRunner.run(Self.binary, ["dedup", "eval", "--pairs", labels, records])
        #expect(bad.status == 65 && bad.stderrText.contains("labels.csv:2: expected id1,id2,label"), "\(bad.stderrText)")
        let missing = try ProcessRunner.run(Self.binary, ["dedup", "eval", "--pairs", labels, "/nonexistent.mrc"])
        #expect(missing.status == 65 && missing.stderrText.contains("nonexistent.mrc"), "\(missing.stderrText)")
        #expect(try ProcessRunner.run(Self.binary, ["dedup", "eval", "--pairs", labels]).status == 64)
    }
}
