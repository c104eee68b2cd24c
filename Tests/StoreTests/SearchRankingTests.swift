import Foundation
import GRDB
import Testing

@testable import Store

@Suite("Catalogue store: search pages")
struct SearchRankingTests {
    /// 600 records under a common word, in clusters of one to five records, many with the same title (equal
    /// scores): more hits than the first windows hold, and fewer union records than records.
    static func catalogue() throws -> CatalogStore {
        let store = try CatalogStore.inMemory()
        _ = try store.addMember(code: "M001", name: "First")
        // Some titles hold a word twice ("history of history", 中国 in 中国历史与中国文化's two-character tokens).
        let fillers = ["of england", "of the chinese revolution", "and law", "of science in china and japan", "", "of art", "of history"]
        let twice = "中国 国历 历史 史与 与中 中国 国文 文化 化"
        let records = (0..<600).map { index in
            var record = IngestCommitTests.record("\(index)", "r\(index)")
            var title = index % 7 == 3 ? "economics \(fillers[index % fillers.count])" : "history \(fillers[index % fillers.count])"
            if index % 13 == 0 { title = index % 2 == 0 ? twice : "中国 国文 文化 化" }
            record.search = RecordSearchText(title: title, author: index % 5 == 0 ? "history society" : "smith", publisher: "")
            return record
        }
        let file = try store.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 1, mode: "incremental")
        _ = try store.commitBatch(fileID: file, member: "M001", records: records, progress: records.count)
        // Clusters of up to five, as dedup leaves them: a record joins the union record of one up to four before it.
        try store.writer.write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT source_id FROM cluster_members ORDER BY source_id")
            for (index, id) in ids.enumerated() where index % 5 != 0 && index % 11 != 0 {
                try db.execute(
                    sql: "UPDATE cluster_members SET union_id = (SELECT union_id FROM cluster_members WHERE source_id = ?) WHERE source_id = ?",
                    arguments: [ids[index - index % 5 + (index * 7) % (index % 5)], id])
            }
        }
        return store
    }

    /// The whole ranking, computed the long way: every hit's cluster, a union record at its best record's score
    /// (the lower source id first among equal ones).
    static func fullRanking(_ store: CatalogStore, _ match: String) throws -> [SearchHit] {
        try store.writer.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.union_id, bm25(record_search, 10.0, 3.0, 1.0), record_search.rowid FROM record_search
                    JOIN cluster_members c ON c.source_id = record_search.rowid WHERE record_search MATCH ?
                    """, arguments: [match])
            var best: [Int64: (score: Double, source: Int64)] = [:]
            for row in rows {
                let union: Int64 = row[0]
                let key = (score: row[1] as Double, source: row[2] as Int64)
                if let known = best[union], (known.score, known.source) < (key.score, key.source) { continue }
                best[union] = key
            }
            return best.sorted { ($0.value.score, $0.value.source) < ($1.value.score, $1.value.source) }
                .map { SearchHit(unionID: $0.key, score: $0.value.score) }
        }
    }

    @Test("a search page is that page of the whole ranking, whatever its offset and size, ties and clusters included")
    func pagesAreThoseOfTheWholeRanking() throws {
        let store = try Self.catalogue()
        for match in Self.expressions {
            let whole = try Self.fullRanking(store, match)
            #expect(match.contains("nothing") ? whole.isEmpty : whole.count > 10, "\(match): \(whole.count)")
            for limit in [1, 7, 20, 100, 1_000] {
                var pages: [SearchHit] = []
                var offset = 0
                while true {
                    let page = try store.search(match: match, limit: limit, offset: offset)
                    #expect(page.count <= limit)
                    pages += page
                    if page.count < limit { break }
                    offset += limit
                }
                let differing = zip(pages, whole).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? (pages.count == whole.count ? nil : min(pages.count, whole.count))
                #expect(differing == nil, "\(match), pages of \(limit): \(pages.count) hits against \(whole.count), first difference at \(differing ?? -1)")
            }
            #expect(try store.search(match: match, limit: 5, offset: whole.count + 3).isEmpty)
            // Offsets and sizes beyond any catalogue: no overflow, an empty page or every hit.
            #expect(try store.search(match: match, limit: 5, offset: Int.max).isEmpty)
            #expect(try store.search(match: match, limit: Int.max, offset: 0) == whole)
            #expect(try store.search(match: match, limit: 0, offset: 0).isEmpty)
        }
    }

    /// Ranked by bm25 (any column, OR, a prefix that matches two words of one title), and by length (words bound to a
    /// column, as the API writes them, in one column or two, a word repeated in some titles).
    static let expressions = [
        "history", "economics", "history AND england", "history OR economics", "chinese", "nothing",
        #"title : "history""#, #"title : "economics" AND title : "of""#, #"title : "e"*"#,
        #"title : "history" AND author : "smith""#, #"author : "history""#, #"title : "nothing""#,
        #"title : "中国""#, #"title : "中国" AND title : "文化""#,
    ]

    @Test("a column-bound search is ranked by its records' lengths, and that is bm25's order and bm25's scores")
    func lengthRankingIsBM25s() throws {
        let store = try Self.catalogue()
        for match in Self.expressions where SearchRanking.followsLength(match) {
            let whole = try Self.fullRanking(store, match)
            for (offset, limit) in [(0, 1), (0, 20), (3, 7), (whole.count - 2, 5), (0, 1_000)] where offset >= 0 {
                let page = try store.writer.read { db in
                    try CatalogStore.shortestRecordsFirst(db, match: match, offset: offset, limit: limit)
                }
                #expect(page == Array(whole.dropFirst(offset).prefix(limit)), "\(match), \(limit) from \(offset)")
            }
        }
    }

    @Test("only a conjunction of column-bound single words is ranked by length; anything else is left to bm25")
    func whichExpressionsFollowLength() {
        for match in [
            #"title : "history""#, #"title : "a" AND publisher : "c""#, #"title : "中国" AND title : "国史" AND author : "li""#,
            #"author : "истории""#,
        ] {
            #expect(SearchRanking.followsLength(match), "\(match)")
        }
        for match in [
            "history", #""history""#, #"title : "a" OR title : "b""#, #"title : "a" NOT title : "b""#,
            #"title : ("a" "b")"#, #"{title author} : "a""#, #"title : "a" AND "b""#, #"title : "a"#,
            #"subject : "a""#, #"title : "a" AND"#, #"title : "a" AND NEAR("b" "c")"#, "",
            // A prefix can match two words of one column; a quote, a space or a mark makes two words of one term.
            #"title : "hist"*"#, #"title : "a""b""#, #"title : "o'brien""#, #"title : "a b""#, #"title : """#,
            "title : \"e\u{301}\"",
        ] {
            #expect(!SearchRanking.followsLength(match), "\(match)")
        }
    }

    @Test("the index holds each word once a column, in its first order")
    func indexHoldsEachWordOnce() throws {
        let store = try Self.catalogue()
        let titles = try store.writer.read { db in
            try String.fetchSet(db, sql: "SELECT title FROM record_search WHERE title LIKE '%history%' OR title LIKE '中国%'")
        }
        #expect(titles.contains("history of"))
        #expect(!titles.contains("history of history"))
        #expect(titles.contains("中国 国历 历史 史与 与中 国文 文化 化"))
        #expect(SearchIndexWriter.eachWordOnce("a b a  c b") == "a b c")
        #expect(SearchIndexWriter.eachWordOnce("history of england") == "history of england")
        #expect(SearchIndexWriter.eachWordOnce("") == "")
        // Split as FTS5 splits: at a combining mark, at a dash, at a katakana middle dot.
        #expect(SearchIndexWriter.eachWordOnce("e\u{301}te ete e-te") == "e te ete")
        #expect(SearchIndexWriter.eachWordOnce("中国 国・ ・中 中国 国") == "中国 国 中")
        #expect(SearchIndexWriter.eachWordOnce("истории истории") == "истории")
    }

    @Test("an index written before words were kept once is emptied by its migration, for start-up to build again")
    func olderIndexIsEmptiedByItsMigration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("catalogue.sqlite").path
        do {
            let older = try DatabaseQueue(path: path)
            try Migrations.migrator().migrate(older, upTo: "0019_conflict_sketches")
            try older.write { db in
                try db.execute(sql: "INSERT INTO record_search (rowid, title, author, publisher) VALUES (1, 'history of history', '', '')")
            }
        }
        let store = try CatalogStore(path: path)
        let (rows, sizes) = try store.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM record_search") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM record_search_docsize") ?? -1)
        }
        #expect(rows == 0 && sizes == 0)
        #expect(try store.appliedMigrations().last == "0020_search_words_once")
    }

    @Test("a record's token count is read from FTS5's sizes, and a row that is not three varints is refused")
    func tokenCountsOfSizes() {
        func count(_ bytes: [UInt8]) -> UInt64? { bytes.withUnsafeBytes(SearchRanking.tokenCount) }
        #expect(count([3, 0, 7]) == 10)
        #expect(count([0x81, 0x48, 1, 0]) == 201)  // 200 in two bytes
        #expect(count([0x82, 0x80, 0x00, 0, 0]) == 32_768)
        #expect(count([3, 0]) == nil)
        #expect(count([3, 0, 7, 1]) == nil)
        #expect(count([3, 0, 0x81]) == nil)
        #expect(count([]) == nil)
    }

    @Test("the cluster of a common word's records holds fewer union records than records: more are read until the page is full")
    func clustersShrinkTheHits() throws {
        let store = try Self.catalogue()
        let records = try store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM record_search WHERE record_search MATCH 'history'") ?? 0
        }
        let whole = try Self.fullRanking(store, "history")
        #expect(whole.count < records / 2, "\(whole.count) union records of \(records) records")
        // The last page needs more records than the first window of 64 ranks.
        #expect(try store.search(match: "history", limit: 10, offset: whole.count - 10) == Array(whole.suffix(10)))
    }

    @Test("a search expression FTS5 cannot run is refused as invalid, not a failure of the catalogue")
    func badExpressionIsInvalid() throws {
        let store = try Self.catalogue()
        for match in ["history AND", "\"unterminated", "(history"] {
            #expect(throws: StoreError.self) { try store.search(match: match, limit: 10, offset: 0) }
            do { _ = try store.search(match: match, limit: 10, offset: 0) } catch let error as StoreError {
                #expect(error.code == .invalid, "\(match): \(error)")
            }
        }
    }
}
