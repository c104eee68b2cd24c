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
        let fillers = ["of england", "of the chinese revolution", "and law", "of science in china and japan", "", "of art"]
        let records = (0..<600).map { index in
            var record = IngestCommitTests.record("\(index)", "r\(index)")
            let title = index % 7 == 3 ? "economics \(fillers[index % fillers.count])" : "history \(fillers[index % fillers.count])"
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
        for match in ["history", "economics", "history AND england", "history OR economics", "chinese", "nothing"] {
            let whole = try Self.fullRanking(store, match)
            #expect(match == "nothing" ? whole.isEmpty : whole.count > 10, "\(match): \(whole.count)")
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
