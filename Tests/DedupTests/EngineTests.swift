import CalisdTesting
@testable import Dedup
import Foundation
import GRDB
import MARC
import Store
import Synchronization
import Testing

/// The engine's field-by-field decisions: what matches, what never merges, and its figures on labelled pairs.
@Suite("dedup engine")
struct EngineTests {
    /// The match keys of a MARC21 book from its parts; nil parts are left out.
    static func book(
        title: String, subtitle: String? = nil, part: String? = nil, edition: String? = nil, year: String = "1899",
        publisher: String? = "Macmillan,", pages: String? = "xii, 284 p.", author: String? = "Smith, John,",
        language: String = "eng", type: String = "am", isbn: String? = nil
    ) -> [MatchKey] {
        MatchKeyExtractor.keys(
            of: bookRecord(
                title: title, subtitle: subtitle, part: part, edition: edition, year: year, publisher: publisher, pages: pages,
                author: author, language: language, type: type, isbn: isbn))
    }

    static func bookRecord(
        title: String, subtitle: String? = nil, part: String? = nil, edition: String? = nil, year: String = "1899",
        publisher: String? = "Macmillan,", pages: String? = "xii, 284 p.", author: String? = "Smith, John,",
        language: String = "eng", type: String = "am", isbn: String? = nil
    ) -> MARCRecord {
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
        return record
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

    @Test("a record joins a cluster when it matches the master or most of its records, never across a conflict")
    func noChaining() {
        let matcher = EngineMatcher()
        // b knows no extent and no author; a and c disagree on both.
        let a = Self.book(title: "The water world", pages: "284 p.", author: "Smith, John,")
        let b = Self.book(title: "The water world", pages: nil, author: nil)
        let c = Self.book(title: "The water world", pages: "400 p.", author: "Smyth, Jane,")
        #expect(PairComparison(a, b).decision == .match)
        #expect(PairComparison(c, b).decision == .match)
        #expect(PairComparison(c, a).decision == .noMatch)
        // One of two, and not the master: no join; the best cluster that agrees wins.
        #expect(matcher.choose(for: c, among: [ClusterCandidate(unionID: 7, memberKeys: [a, b], masterIndex: 0)]) == nil)
        #expect(matcher.choose(for: c, among: [ClusterCandidate(unionID: 7, memberKeys: [a, b]), ClusterCandidate(unionID: 9, memberKeys: [b])]) == 9)
        #expect(matcher.choose(for: Self.book(title: "Letters"), among: [ClusterCandidate(unionID: 7, memberKeys: [a, b])]) == nil)
        // The master agrees: join, though another member cannot tell (a romanised record against a vernacular one).
        #expect(matcher.choose(for: c, among: [ClusterCandidate(unionID: 7, memberKeys: [b, a], masterIndex: 0)]) == 7)
        // Most records by count agree.
        #expect(matcher.choose(for: c, among: [ClusterCandidate(unionID: 7, memberKeys: [a, b], weights: [1, 2])]) == 7)
        // A conflict with any record keeps it out, master or not.
        let volume = Self.book(title: "The water world", part: "v. 2", pages: nil, author: nil)
        #expect(matcher.choose(for: Self.book(title: "The water world", part: "v. 3"), among: [
            ClusterCandidate(unionID: 7, memberKeys: [b, volume], weights: [5, 1], masterIndex: 0)
        ]) == nil)
    }

    /// A Chinese book as LoC catalogues it: romanised fields with 880 vernacular twins.
    static func chineseBook(
        vernacular: Bool = true, romanised: Bool = true, part: (String, String)? = nil, edition: (String, String)? = nil,
        isbnQualifiers: [String] = []
    ) -> MARCRecord {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: "c1")
        record.appendControlField("008", value: "990101s1998    cc            000 0 chi d")
        for qualifier in isbnQualifiers {
            record.appendDataField("020", subfields: [(UInt8(ascii: "a"), "7505712345"), (UInt8(ascii: "q"), qualifier)])
        }
        func linked(_ tag: MARCTag, _ occurrence: String, roman: [(UInt8, String)], native: [(UInt8, String)]) {
            if romanised {
                let link = vernacular ? [(code: UInt8(ascii: "6"), value: "880-\(occurrence)")] : []
                record.appendDataField(tag, indicators: (0x31, 0x30), subfields: link + roman.map { (code: $0.0, value: $0.1) })
            }
            if vernacular {
                let link = romanised ? "\(tag.string)-\(occurrence)/$1" : "\(tag.string)-00/$1"
                record.appendDataField(romanised ? "880" : tag, indicators: (0x31, 0x30),
                    subfields: [(code: UInt8(ascii: "6"), value: link)] + native.map { (code: $0.0, value: $0.1) })
            }
        }
        linked("100", "01", roman: [(0x61, "Cao, Xueqin.")], native: [(0x61, "曹雪芹.")])
        var title: [(UInt8, String)] = [(0x61, "Hong lou meng /")]
        var nativeTitle: [(UInt8, String)] = [(0x61, "紅樓夢 /")]
        if let part {
            title.append((0x6E, part.0))
            nativeTitle.append((0x6E, part.1))
        }
        linked("245", "02", roman: title, native: nativeTitle)
        if let edition { linked("250", "03", roman: [(0x61, edition.0)], native: [(0x61, edition.1)]) }
        linked("260", "04", roman: [(0x61, "Beijing :"), (0x62, "Ren min wen xue chu ban she,"), (0x63, "1998.")],
            native: [(0x61, "北京 :"), (0x62, "人民文学出版社,"), (0x63, "1998.")])
        record.appendDataField("300", subfields: [(UInt8(ascii: "a"), "1606 p. ;")])
        return record
    }

    @Test("romanised and vernacular forms: a record with only one of them matches one with both; across scripts no evidence")
    func scriptsOfOneBook() {
        let both = MatchKeyExtractor.keys(of: Self.chineseBook())
        let romanisedOnly = MatchKeyExtractor.keys(of: Self.chineseBook(vernacular: false))
        let vernacularOnly = MatchKeyExtractor.keys(of: Self.chineseBook(romanised: false))
        #expect(PairComparison(both, romanisedOnly).decision == .match)
        #expect(PairComparison(both, vernacularOnly).decision == .match)
        // A romanised publisher against a vernacular one is no evidence either way.
        let crossScript = PairComparison(romanisedOnly, vernacularOnly)
        #expect(!crossScript.findings.contains { $0.field == "publisher" || $0.field == "author" }, "\(crossScript.findings)")
        // Without a shared script, the pinyin of the vernacular-only side is not known; the titles differ.
        #expect(crossScript.decision == .noMatch)
    }

    @Test("parts compare as numbers in every script: v. 2 = 第2册 = 第二册 = Di 2 ce; 上册 against 下册 conflicts")
    func partsAcrossScripts() {
        let second = MatchKeyExtractor.keys(of: Self.chineseBook(part: ("Di 2 ce.", "第2册.")))
        #expect(PairComparison(second, MatchKeyExtractor.keys(of: Self.chineseBook(romanised: false, part: ("", "第二册")))).decision == .match)
        #expect(PairComparison(second, MatchKeyExtractor.keys(of: Self.chineseBook(part: ("v. 2", "v. 2")))).decision == .match)
        let third = PairComparison(second, MatchKeyExtractor.keys(of: Self.chineseBook(part: ("Di 3 ce.", "第3册."))))
        #expect(third.decision == .noMatch && third.findings.contains { $0.field == "part" && $0.verdict == "conflict" })
        let upper = MatchKeyExtractor.keys(of: Self.chineseBook(vernacular: true, romanised: false, part: ("", "上册")))
        let lower = MatchKeyExtractor.keys(of: Self.chineseBook(vernacular: true, romanised: false, part: ("", "下册")))
        #expect(PairComparison(upper, lower).findings.contains { $0.field == "part" && $0.verdict == "conflict" })
    }

    @Test("an ISBN's qualifier names a volume only when every ISBN names the same one; binding words are no volume")
    func volumesInISBNQualifiers() {
        func parts(_ qualifiers: [String]) -> [String] {
            MatchKeyExtractor.keys(of: Self.chineseBook(isbnQualifiers: qualifiers)).filter { $0.kind == "part" }.map(\.value)
        }
        #expect(parts(["第2册"]) == ["2"])
        #expect(parts(["v. 2"]) == ["2"])
        #expect(parts(["精装"]).isEmpty && parts(["pbk."]).isEmpty)
        #expect(parts(["v. 1", "v. 2"]).isEmpty)
    }

    @Test("editions in two scripts: 初版 = Chu ban = 1; Di 2 ban = 第二版; a second edition never merges with a first")
    func editionsAcrossScripts() {
        let first = MatchKeyExtractor.keys(of: Self.chineseBook(edition: ("Chu ban.", "初版.")))
        #expect(PairComparison(first, MatchKeyExtractor.keys(of: Self.chineseBook(romanised: false, edition: ("", "第1版")))).decision == .match)
        let second = MatchKeyExtractor.keys(of: Self.chineseBook(edition: ("Di 2 ban.", "第二版.")))
        let comparison = PairComparison(first, second)
        #expect(comparison.decision == .noMatch && comparison.findings.contains { $0.field == "edition" && $0.verdict == "conflict" })
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
    func goldfinchFloor() async throws {
        let result = try await ProcessRunner.runDetached(Self.binary, [
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

    static let cjkSet = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Benchmarks/dedup-cjk")

    @Test("the CJK/CNMARC benchmark through calisd dedup eval: today's figures are the floor (P ≥ 0.995, F1 ≥ 0.99)")
    func cjkFloor() async throws {
        let files = ["LOC", "M21", "CNM", "NEG"].map { Self.cjkSet.appendingPathComponent("\($0).mrc.gz").path }
        let result = try await ProcessRunner.runDetached(
            Self.binary, ["dedup", "eval", "--json", "--pairs", Self.cjkSet.appendingPathComponent("labels.csv").path] + files)
        #expect(result.status == 0, "\(result.stderrText)")
        let body = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] ?? [:]
        let precision = body["precision"] as? Double ?? 0
        let f1 = body["f1"] as? Double ?? 0
        #expect(precision >= 0.995, "precision \(precision)")
        #expect(f1 >= 0.99, "F1 \(f1)")
        #expect(body["records"] as? Int == 2_593)
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

extension EngineTests {
    static func incoming(_ record: MARCRecord, id: String, deleted: Bool = false) throws -> IncomingRecord {
        var copy = MARCRecord(leader: record.leader)
        copy.appendControlField("001", value: id)
        for field in record.fields where field.tag != "001" { copy.append(field) }
        return IncomingRecord(
            localID: id, flavour: "marc21", originalEncoding: "utf-8", record: try ISO2709Writer.data(copy), deleted: deleted,
            keys: MatchKeyExtractor.keys(of: copy))
    }

    @Test("a conflict with one record rules its whole cluster out, as the decision would; a match or a difference does not")
    func conflictRulesClusterOut() {
        let matcher = EngineMatcher()
        let second = Self.book(title: "The water world", part: "v. 2")
        let third = Self.book(title: "The water world", part: "v. 3")
        let bare = Self.book(title: "The water world", pages: nil, author: nil)
        #expect(matcher.rulesOut(third, clusterWith: second))
        // Ruled out by one record, whatever the rest: neither a join nor a review, even when most records match.
        let cluster = ClusterCandidate(unionID: 7, memberKeys: [second, bare], weights: [1, 9], masterIndex: 0)
        let decided = matcher.decide(for: third, among: [cluster])
        #expect(decided.join == nil && decided.review == nil)
        #expect(!matcher.rulesOut(third, clusterWith: bare))
        #expect(!matcher.rulesOut(Self.book(title: "Letters from Italy"), clusterWith: bare))
        let isbnA = Self.book(title: "The water world", year: "1999", isbn: "9780306406157")
        let isbnB = Self.book(title: "The water world", year: "1999", isbn: "9781861972712")
        #expect(matcher.rulesOut(isbnA, clusterWith: isbnB) && !matcher.rulesOut(isbnA, clusterWith: isbnA))
        #expect(!NoMatching().rulesOut(third, clusterWith: second))
    }

    @Test("placement: a candidate its master rules out is counted in the evidence; the next copy still joins the first")
    func candidateRuledOutByMaster() throws {
        let store = try CatalogStore.inMemory()
        let matcher = EngineMatcher()
        for code in ["A", "B", "C"] { _ = try store.addMember(code: code, name: code) }
        func submit(_ member: String, isbn: String) throws -> SourceRecordView {
            let file = try store.beginFile(member: member, name: "f", sha256: "0", size: 0, mode: "incremental")
            let record = Self.bookRecord(title: "The water world", year: "1999", isbn: isbn)
            _ = try store.commitBatch(
                fileID: file, member: member, records: [try Self.incoming(record, id: "1")], progress: 1, matcher: matcher)
            return try #require(try store.sourceRecord(member: member, localID: "1"))
        }
        let first = try submit("A", isbn: "9780306406157")
        // Same title, author and year, another ISBN: found by the title blocks, kept out by the master's ISBN.
        let other = try submit("B", isbn: "9781861972712")
        #expect(other.unionID != first.unionID)
        #expect(other.placement?.decision == "new" && other.placement?.evidence == #"{"candidates":1}"#)
        let copy = try submit("C", isbn: "0306406152")
        #expect(copy.unionID == first.unionID && copy.placement?.decision == "matched")
    }

    @Test("a union record is found by every key of its records after the record that wrote its index rows leaves or changes")
    func keysStayReachable() throws {
        let store = try CatalogStore.inMemory()
        let matcher = EngineMatcher()
        for code in ["A", "B", "C", "D"] { _ = try store.addMember(code: code, name: code) }
        func book(author: String? = "Smith, John,") -> MARCRecord {
            Self.bookRecord(title: "The water world", year: "1999", author: author, isbn: "9780306406157")
        }
        func submit(_ member: String, _ record: MARCRecord, deleted: Bool = false) throws -> Int64? {
            let file = try store.beginFile(member: member, name: "f", sha256: "0", size: 0, mode: "incremental")
            _ = try store.commitBatch(
                fileID: file, member: member, records: [try Self.incoming(record, id: "1", deleted: deleted)], progress: 1,
                matcher: matcher)
            return try store.sourceRecord(member: member, localID: "1")?.unionID
        }
        func reachable(_ record: MARCRecord, _ cluster: Int64) throws -> Bool {
            try matcher.blockingKeys(MatchKeyExtractor.keys(of: record)).allSatisfy { try store.unionIDs(withKey: $0) == [cluster] }
        }
        let cluster = try #require(try submit("A", book()))
        // B's copy joins through the rows A wrote; then A's record goes.
        #expect(try submit("B", book()) == cluster)
        _ = try submit("A", book(), deleted: true)
        #expect(try reachable(book(), cluster))
        // C's copy joins through B's rows; then B drops its author (its author keys with it) and stays.
        #expect(try submit("C", book()) == cluster)
        #expect(try submit("B", book(author: nil)) == cluster)
        #expect(try reachable(book(), cluster) && reachable(book(author: nil), cluster))
        let failed = try store.verify(matcher: matcher).filter { !$0.ok }
        #expect(failed.isEmpty, "\(failed)")
        #expect(try store.verify(matcher: matcher).contains { $0.name == "every record's block keys find its union record" })
        #expect(try submit("D", book()) == cluster)
    }

    /// A catalogue in a file, as the daemon keeps it (read-ahead needs one), removed afterwards.
    static func withCatalogueOnDisk(_ name: String, _ body: (CatalogStore) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(try CatalogStore(path: directory.appendingPathComponent("catalogue.sqlite").path))
    }

    @Test("read-ahead reads for the records a batch will place, not for unchanged, deleted or holdings records; it changes nothing, and the batch then places as it would")
    func readAheadReadsOnlyWhatWillBePlaced() throws {
        try Self.withCatalogueOnDisk("calisd-read-ahead") { store in
            let matcher = EngineMatcher()
            for code in ["A", "B"] { _ = try store.addMember(code: code, name: code) }
            let book = Self.bookRecord(title: "The water world", year: "1999", author: "Smith, John,", isbn: "9780306406157")
            let other = Self.bookRecord(title: "The water world", year: "1999", author: "Smith, John,", isbn: "9781861972712")
            let first = try store.beginFile(member: "A", name: "f", sha256: "0", size: 0, mode: "incremental")
            _ = try store.commitBatch(
                fileID: first, member: "A", records: [try Self.incoming(book, id: "1"), try Self.incoming(other, id: "2")], progress: 2,
                matcher: matcher)
            var holdings = try Self.incoming(book, id: "h1")
            holdings.holdingsOf = "1"
            // A's record 1 again unchanged (not placed again), its record 2 changed, a new record 3, a deletion, holdings.
            let fromA = [
                try Self.incoming(book, id: "1"), try Self.incoming(book, id: "2"), try Self.incoming(other, id: "3"),
                try Self.incoming(other, id: "9", deleted: true), holdings,
            ]
            func state() throws -> [Int] {
                try store.writer.read { db in
                    try ["source_records", "union_records", "cluster_members", "block_keys", "changes", "holdings"].map {
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? -1
                    }
                }
            }
            let before = try state()
            #expect(store.readAhead(for: fromA, member: "A", matcher: matcher) == 2)
            // The same record 1 is new to B, so it will be placed.
            #expect(store.readAhead(for: [fromA[0]], member: "B", matcher: matcher) == 1)
            #expect(store.readAhead(for: [], member: "A", matcher: matcher) == 0)
            #expect(try state() == before)
            let second = try store.beginFile(member: "B", name: "f", sha256: "0", size: 0, mode: "incremental")
            _ = try store.commitBatch(fileID: second, member: "B", records: [fromA[0]], progress: 1, matcher: matcher)
            let copy = try #require(try store.sourceRecord(member: "B", localID: "1"))
            #expect(copy.unionID == (try store.sourceRecord(member: "A", localID: "1"))?.unionID && copy.placement?.decision == "matched")
            // A catalogue in memory has no disk to wait for.
            #expect(try CatalogStore.inMemory().readAhead(for: fromA, member: "A", matcher: matcher) == 0)
        }
    }

    @Test("read-ahead does not wait for the catalogue's readers: with every one of them held, as by API requests, it still reads")
    func readAheadLeavesReadersToTheAPI() throws {
        try Self.withCatalogueOnDisk("calisd-read-ahead-pool") { store in
            _ = try store.addMember(code: "A", name: "A")
            let readers = store.writer.configuration.maximumReaderCount
            let entered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let held = DispatchGroup()
            // Threads of their own: the global queue runs no more blocked items at once than there are cores.
            for _ in 0..<readers {
                held.enter()
                Thread {
                    try? store.writer.read { _ in
                        entered.signal()
                        release.wait()
                    }
                    held.leave()
                }.start()
            }
            for _ in 0..<readers { entered.wait() }
            let record = try Self.incoming(Self.bookRecord(title: "The water world", year: "1999", author: "Smith, John,", isbn: "9780306406157"), id: "1")
            let finished = DispatchSemaphore(value: 0)
            let read = Mutex(-1)
            DispatchQueue.global().async {
                let count = store.readAhead(for: [record], member: "A", matcher: EngineMatcher())
                read.withLock { $0 = count }
                finished.signal()
            }
            let inTime = finished.wait(timeout: .now() + 30) == .success
            for _ in 0..<readers { release.signal() }
            held.wait()
            #expect(inTime, "read-ahead waited for a reader the API holds")
            if !inTime { finished.wait() }
            #expect(read.withLock { $0 } == 1)
        }
    }

    @Test("a cluster splits when its evidence goes: two copies joined only through the master part when it is deleted")
    func clusterSplitsWhenEvidenceGoes() throws {
        let store = try CatalogStore.inMemory()
        let matcher = EngineMatcher()
        for code in ["A", "B", "C"] { _ = try store.addMember(code: code, name: code) }
        // Each copy a second later: a later copy is the master only when it is as good as the earlier ones.
        var clock: Int64 = 1_700_000_000
        func submit(_ member: String, _ record: MARCRecord, deleted: Bool = false) throws {
            let file = try store.beginFile(member: member, name: "f", sha256: "0", size: 0, mode: "incremental")
            var incoming = try Self.incoming(record, id: "1", deleted: deleted)
            // As ingest ranks them (same encoding level): the record with both scripts has more fields.
            incoming.quality = record.fieldCount
            clock += 1
            _ = try store.commitBatch(fileID: file, member: member, records: [incoming], progress: 1, matcher: matcher, now: clock)
        }
        func union(_ member: String) throws -> Int64? { try store.sourceRecord(member: member, localID: "1")?.unionID }
        // A carries both scripts; B only the romanisation, C only the vernacular: B and C match A, not each other.
        try submit("A", Self.chineseBook())
        try submit("B", Self.chineseBook(vernacular: false))
        try submit("C", Self.chineseBook(romanised: false))
        let cluster = try #require(try union("A"))
        #expect(try union("B") == cluster && union("C") == cluster)

        // A withdraws its record: nothing holds B and C together any more.
        try submit("A", Self.chineseBook(), deleted: true)
        let b = try #require(try union("B"))
        let c = try #require(try union("C"))
        #expect(b != c)
        // The master's side keeps the id; the other part gets a new one.
        #expect([b, c].contains(cluster))
        let kept = try #require(try store.unionRecord(id: cluster))
        #expect(kept.sources.count == 1 && kept.masterID == kept.sources.first?.id)
        // The records that moved took their block keys with them: each names the union record it is in now.
        let failed = try store.verify().filter { !$0.ok }
        #expect(failed.isEmpty, "\(failed)")
        let vernacularKeys = matcher.blockingKeys(MatchKeyExtractor.keys(of: Self.chineseBook(romanised: false)))
        #expect(try !vernacularKeys.isEmpty && vernacularKeys.allSatisfy { try store.unionIDs(withKey: $0) == [c] })
    }
}

extension EngineTests {
    @Test("a count of volumes is read however it is written (2 v. = 2 v = 2 vols.); a publisher's initials are skipped")
    func volumesAndPublisherInitials() {
        let dotted = Self.book(title: "Primitive culture", publisher: "Murray,", pages: "2 v. :")
        #expect(PairComparison(dotted, Self.book(title: "Primitive culture", publisher: "J. Murray,", pages: "2 v")).decision == .match)
        #expect(PairComparison(dotted, Self.book(title: "Primitive culture", publisher: "Murray,", pages: "2 vols.")).decision == .match)
        let three = PairComparison(dotted, Self.book(title: "Primitive culture", publisher: "Murray,", pages: "3 volumes"))
        #expect(three.findings.contains { $0.field == "volumes" && $0.verdict == "conflict" })
    }

    @Test("the evidence stored with a placement is the JSON the encoder writes, byte for byte, and refuses what it refuses")
    func storedFindingsAreTheEncodersJSON() throws {
        struct Encoded: Codable { var field: String; var verdict: String; var weight: Double }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let weights = [1.0, 0.5, -2.0, 0.1 + 0.2, 1e-7, 12_345_678.0, 0, -0.0, 3.25e21, -0.75]
        let names = ["title", "isbn", "a \"quoted\" field", "back\\slash", "tab\there", "題名", "emoji 📚"]
        for count in 0...weights.count {
            let findings = (0..<count).map {
                PairComparison.Finding(field: names[$0 % names.count], verdict: ["agree", "differ", "conflict"][$0 % 3], weight: weights[$0])
            }
            let expected = String(
                decoding: try encoder.encode(findings.map { Encoded(field: $0.field, verdict: $0.verdict, weight: $0.weight) }), as: UTF8.self)
            #expect(EngineMatcher.storedFindings(findings) == expected)
        }
        #expect(EngineMatcher.storedFindings([PairComparison.Finding(field: "title", verdict: "agree", weight: .nan)]) == nil)
        #expect(EngineMatcher.storedFindings([PairComparison.Finding(field: "title", verdict: "agree", weight: .infinity)]) == nil)
    }
}
