import Foundation
import GRDB
import MARC

/// A record's search text, already tokenised (Sources/Search), one string per column.
public struct RecordSearchText: Sendable, Equatable {
    public var title: String
    public var author: String
    public var publisher: String

    public init(title: String, author: String, publisher: String) {
        self.title = title
        self.author = author
        self.publisher = publisher
    }

    public var isEmpty: Bool { title.isEmpty && author.isEmpty && publisher.isEmpty }
}

/// Keeps `record_search` in step with the source records inside the writer's transactions.
final class SearchIndexWriter {
    private let remove: RawStatement
    private let insert: RawStatement

    init(db: Database) throws {
        remove = try RawStatement(db, "DELETE FROM record_search WHERE rowid = ?")
        insert = try RawStatement(db, "INSERT INTO record_search (rowid, title, author, publisher) VALUES (?, ?, ?, ?)")
    }

    /// Replaces what the index holds for a source record. A record with nothing to search by still gets its
    /// (empty) row: every active record has one, which is how start-up knows the index is complete.
    func set(_ sourceID: Int64, _ text: RecordSearchText?) throws {
        try removeRecord(sourceID)
        let text = text ?? RecordSearchText(title: "", author: "", publisher: "")
        insert.bind(1, sourceID)
        insert.bind(2, text.title)
        insert.bind(3, text.author)
        insert.bind(4, text.publisher)
        try insert.run()
    }

    func removeRecord(_ sourceID: Int64) throws {
        remove.bind(1, sourceID)
        try remove.run()
    }
}

/// One search hit: a union record and its rank (lower is better).
public struct SearchHit: Sendable, Equatable {
    public var unionID: Int64
    public var score: Double
}

extension CatalogStore {
    /// Union records whose records match an FTS5 expression, best first (bm25 with titles weighed over authors
    /// over publishers; a union record ranks by its best-matching record), `limit` from `offset`.
    public func search(match: String, limit: Int, offset: Int) throws -> [SearchHit] {
        try writer.read { db in
            do {
                return try Row.fetchAll(
                    db,
                    sql: """
                        WITH matched AS MATERIALIZED (
                            SELECT rowid AS source_id, bm25(record_search, 10.0, 3.0, 1.0) AS score
                            FROM record_search WHERE record_search MATCH ?
                        )
                        SELECT c.union_id, min(matched.score) AS score
                        FROM matched JOIN cluster_members c ON c.source_id = matched.source_id
                        GROUP BY c.union_id ORDER BY score, c.union_id LIMIT ? OFFSET ?
                        """, arguments: [match, limit, offset]
                ).map { SearchHit(unionID: $0[0], score: $0[1]) }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                throw StoreError(.invalid, "the search cannot be run: \(error.message ?? "\(error)")", cause: error)
            }
        }
    }

    /// Indexes the active records the search index does not hold yet (a catalogue from before search, or one
    /// restored), `batchSize` per transaction. Returns how many were indexed.
    public func indexMissingSearchText(batchSize: Int = 5_000, _ text: (MARCRecord) -> RecordSearchText) throws -> Int {
        // The usual start: one row per active record already, nothing to look for record by record.
        let complete = try writer.read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM record_search_docsize) >= (SELECT count(*) FROM source_records WHERE status = 'active')
                    """) ?? false
        }
        if complete { return 0 }
        var total = 0
        var after: Int64 = 0
        while true {
            let rows = try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT s.id, s.record FROM source_records s
                        WHERE s.id > ? AND s.status = 'active' AND NOT EXISTS (SELECT 1 FROM record_search WHERE rowid = s.id)
                        ORDER BY s.id LIMIT ?
                        """, arguments: [after, batchSize]
                ).map { (id: $0[0] as Int64, bytes: [UInt8]($0[1] as Data)) }
            }
            guard let last = rows.last else { return total }
            after = last.id
            let texts = rows.map { row -> (Int64, RecordSearchText) in
                (row.id, ISO2709Parser.parse(row.bytes).record.map(text) ?? RecordSearchText(title: "", author: "", publisher: ""))
            }
            try writer.write { db in
                let index = try SearchIndexWriter(db: db)
                for (id, text) in texts { try index.set(id, text) }
            }
            total += texts.count
        }
    }
}
