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
///
/// Deferred, it holds its changes until `flush()`, in order. Ingest writes them after a batch's union placement:
/// every statement that opens a statement journal (an insert with a trigger, an upsert) makes FTS5 flush its
/// pending terms as a segment of its own, so index rows written between placements became one tiny segment a
/// record, and FTS5 spent its time merging them.
final class SearchIndexWriter {
    private enum Change {
        case set(RecordSearchText?)
        case remove
    }

    private let remove: RawStatement
    private let insert: RawStatement
    private let deferred: Bool
    private var pending: [(sourceID: Int64, change: Change)] = []

    init(db: Database, deferred: Bool = false) throws {
        remove = try RawStatement(db, "DELETE FROM record_search WHERE rowid = ?")
        insert = try RawStatement(db, "INSERT INTO record_search (rowid, title, author, publisher) VALUES (?, ?, ?, ?)")
        self.deferred = deferred
    }

    /// Replaces what the index holds for a source record. A record with nothing to search by still gets its
    /// (empty) row: every active record has one, which is how start-up knows the index is complete.
    func set(_ sourceID: Int64, _ text: RecordSearchText?) throws {
        if deferred { return pending.append((sourceID, .set(text))) }
        try apply(sourceID, .set(text))
    }

    func removeRecord(_ sourceID: Int64) throws {
        if deferred { return pending.append((sourceID, .remove)) }
        try apply(sourceID, .remove)
    }

    /// Writes the changes held so far, in the order they were made.
    func flush() throws {
        for (sourceID, change) in pending { try apply(sourceID, change) }
        pending.removeAll()
    }

    private func apply(_ sourceID: Int64, _ change: Change) throws {
        remove.bind(1, sourceID)
        try remove.run()
        guard case .set(let text) = change else { return }
        let fields = text ?? RecordSearchText(title: "", author: "", publisher: "")
        insert.bind(1, sourceID)
        insert.bind(2, fields.title)
        insert.bind(3, fields.author)
        insert.bind(4, fields.publisher)
        try insert.run()
    }
}

/// One search hit: a union record and its rank (lower is better).
public struct SearchHit: Sendable, Equatable {
    public var unionID: Int64
    public var score: Double
}

extension CatalogStore {
    /// Union records whose records match an FTS5 expression, best first (bm25 with titles weighed over authors
    /// over publishers), `limit` from `offset`. A union record ranks by its best-matching record, the lower source
    /// id first among equal scores, so the page needs only the best records: a common word's hits are ranked,
    /// but only the first few are looked up in their clusters.
    public func search(match: String, limit: Int, offset: Int) throws -> [SearchHit] {
        // No catalogue holds 2^30 union records; the bounds keep the window's arithmetic from overflowing.
        guard limit > 0, offset >= 0, offset < 1 << 30 else { return [] }
        let limit = min(limit, 1 << 30)
        let wanted = offset + limit
        return try writer.read { db in
            do {
                let best = try db.cachedStatement(sql: Self.bestMatchingRecords)
                // Most hits' clusters hold one or two records: a few times the page is usually enough.
                var window = max(wanted * 4, 64)
                while true {
                    var seen: Set<Int64> = []
                    var hits: [SearchHit] = []
                    var ranked = 0
                    let rows = try Row.fetchCursor(best, arguments: [match, window])
                    while let row = try rows.next() {
                        ranked += 1
                        // Every indexed record is in a cluster; the outer join only lets `ranked` count them all.
                        guard let unionID = row[0] as Int64?, seen.insert(unionID).inserted else { continue }
                        hits.append(SearchHit(unionID: unionID, score: row[1]))
                    }
                    // Every union record not seen ranks after every record read, so these are the first ones.
                    if hits.count >= wanted || ranked < window { return Array(hits.dropFirst(offset).prefix(limit)) }
                    window *= 8
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                throw StoreError(.invalid, "the search cannot be run: \(error.message ?? "\(error)")", cause: error)
            }
        }
    }

    /// The best `?2` records matching `?1` and their union records, best first.
    static let bestMatchingRecords = """
        WITH best AS MATERIALIZED (
            SELECT rowid AS source_id, bm25(record_search, 10.0, 3.0, 1.0) AS score
            FROM record_search WHERE record_search MATCH ?1 ORDER BY score, rowid LIMIT ?2
        )
        SELECT c.union_id, best.score FROM best LEFT JOIN cluster_members c ON c.source_id = best.source_id
        ORDER BY best.score, best.source_id
        """

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
