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
        insert.bind(2, Self.eachWordOnce(fields.title))
        insert.bind(3, Self.eachWordOnce(fields.author))
        insert.bind(4, Self.eachWordOnce(fields.publisher))
        try insert.run()
    }

    /// A column's words as FTS5 reads them (split at anything but letters and numbers), each once, in their first
    /// order. A word's count in a column then never ranks a record, so a column-bound search ranks as its records'
    /// lengths do (`SearchRanking`). When a title repeats a word ("History of history"), the repetition says little
    /// about what a reader looks for.
    static func eachWordOnce(_ text: String) -> String {
        // Most text is ASCII words and spaces, and splits at the spaces alone. In ASCII, letters and digits are the
        // word characters, so the Unicode tables are not asked for every byte of the lane's records.
        let spacedASCII = text.utf8.allSatisfy { byte in
            byte == 0x20 || (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        let words: [Substring] =
            spacedASCII
            ? text.split(separator: " ")
            : text.unicodeScalars.split { !SearchRanking.isWordScalar($0) }.map { Substring(String(String.UnicodeScalarView($0))) }
        var seen: Set<Substring> = []
        let once = words.filter { seen.insert($0).inserted }
        return spacedASCII && once.count == words.count ? text : once.joined(separator: " ")
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
                if SearchRanking.followsLength(match), let page = try Self.shortestRecordsFirst(db, match: match, offset: offset, limit: limit) {
                    return page
                }
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

    /// The page ranked by the hits' token counts, read from FTS5's own `record_search_docsize`, and only the page's
    /// records scored with bm25: for a common word this reads a row of sizes a hit where bm25 would step a statement
    /// of its own a hit. For expressions `SearchRanking.followsLength` accepts, the order is bm25's. nil when a
    /// row of sizes is not three columns as FTS5 writes them (a newer SQLite's format, say): bm25 ranks instead.
    static func shortestRecordsFirst(_ db: Database, match: String, offset: Int, limit: Int) throws -> [SearchHit]? {
        let sized = try RawStatement(
            db, "SELECT r.rowid, d.sz FROM record_search r LEFT JOIN record_search_docsize d ON d.id = r.rowid WHERE record_search MATCH ?")
        defer { sized.reset() }
        sized.bind(1, match)
        // Token count above source id in one integer, so one sort of integers ranks them.
        let sourceBits = 40
        var ranked: [UInt64] = []
        while try sized.step() {
            let sourceID = sized.int64(0)
            guard sourceID >= 0, sourceID < 1 << sourceBits,
                let tokens = sized.withBlob(1, SearchRanking.tokenCount), tokens < 1 << (63 - sourceBits)
            else { return nil }
            ranked.append(UInt64(tokens) << sourceBits | UInt64(sourceID))
        }
        ranked.sort()

        let cluster = try RawStatement(db, "SELECT union_id FROM cluster_members WHERE source_id = ?")
        var seen: Set<Int64> = []
        var best: [(unionID: Int64, sourceID: Int64)] = []
        for key in ranked {
            if best.count == offset + limit { break }
            let sourceID = Int64(key & (1 << sourceBits - 1))
            cluster.bind(1, sourceID)
            defer { cluster.reset() }
            // A union record ranks at its best record.
            guard try cluster.step(), seen.insert(cluster.int64(0)).inserted else { continue }
            best.append((cluster.int64(0), sourceID))
        }
        let page = best.dropFirst(offset)
        guard !page.isEmpty else { return [] }

        // `+rowid`: the IN list must not become FTS5's rowid lookups, where bm25 cannot run.
        let scored = try RawStatement(
            db,
            """
            SELECT rowid, bm25(record_search, 10.0, 3.0, 1.0) FROM record_search
            WHERE record_search MATCH ?1 AND +rowid IN (SELECT value FROM json_each(?2))
            """)
        defer { scored.reset() }
        scored.bind(1, match)
        scored.bind(2, "[" + page.map { String($0.sourceID) }.joined(separator: ",") + "]")
        var scores: [Int64: Double] = [:]
        while try scored.step() { scores[scored.int64(0)] = scored.double(1) }
        var hits: [SearchHit] = []
        for entry in page {
            guard let score = scores[entry.sourceID] else { return nil }
            hits.append(SearchHit(unionID: entry.unionID, score: score))
        }
        return hits
    }

    /// Whether the search index has as many rows as there are active records, from the two counts the catalogue
    /// keeps: FTS5's row count (the first varint of its averages record, `record_search_data` row 1) and
    /// `catalogue_totals`. Counting both tables read every page of an index at each start: 56,000 pages, about a
    /// minute before the socket answered, with a cold cache at 8 M records.
    static func searchIndexIsComplete(_ db: Database) throws -> Bool {
        let active = try Int64.fetchOne(db, sql: "SELECT value FROM catalogue_totals WHERE name = 'active_source_records'") ?? 0
        let averages = try Data.fetchOne(db, sql: "SELECT block FROM record_search_data WHERE id = 1")
        // No averages record: nothing was ever indexed.
        guard let averages else { return active == 0 }
        guard let indexed = Self.leadingVarint(averages) else {
            return try Bool.fetchOne(
                db, sql: "SELECT (SELECT count(*) FROM record_search_docsize) >= ?", arguments: [active]) ?? false
        }
        return indexed >= active
    }

    /// SQLite's varint, which FTS5 writes: big-endian groups of seven bits, the ninth byte whole. Nil if cut short.
    static func leadingVarint(_ bytes: Data) -> Int64? {
        var value: UInt64 = 0
        for (position, byte) in bytes.prefix(9).enumerated() {
            if position == 8 { return Int64(bitPattern: value << 8 | UInt64(byte)) }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { return Int64(bitPattern: value) }
        }
        return nil
    }

    /// Indexes the active records the search index does not hold yet (a catalogue from before search, or one
    /// restored), `batchSize` per transaction. Returns how many were indexed.
    public func indexMissingSearchText(batchSize: Int = 5_000, _ text: (MARCRecord) -> RecordSearchText) throws -> Int {
        // The usual start: one row per active record already, nothing to look for record by record.
        if try writer.read(Self.searchIndexIsComplete) { return 0 }
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

/// When the hits' lengths alone give bm25's order, and how FTS5 stores a record's lengths.
enum SearchRanking {
    static let columns: Set<Substring> = ["title", "author", "publisher"]

    /// Whether `match` is a conjunction of quoted words each bound to one column, as `SearchTokens.match(_:column:)`
    /// writes them (`title : "word" AND author : "name"`).
    ///
    /// Then bm25 ranks as the records' token counts do, shortest first. Every hit holds every word in its column, and
    /// the index holds a word once a column, so each word's weighed frequency is the same in every hit, and FTS5's
    /// bm25 varies only with the record's token count, all columns together, falling as it grows. Anything else
    /// (OR, NOT, NEAR, groups, a prefix, a word of any column) is ranked by bm25. (The index text is folded before it
    /// is stored, so two words that differ only in case, which FTS5 would count as one word twice, do not arise.)
    static func followsLength(_ match: String) -> Bool {
        var rest = Substring(match)
        while true {
            let column = rest.prefix { $0.isASCII && $0.isLetter }
            guard columns.contains(column) else { return false }
            rest = rest.dropFirst(column.count)
            guard rest.hasPrefix(" : \""), let term = oneWordTermEnd(rest.dropFirst(3)) else { return false }
            rest = rest[term...]
            if rest.isEmpty { return true }
            guard rest.hasPrefix(" AND ") else { return false }
            rest = rest.dropFirst(5)
        }
    }

    /// Where the quoted word that `text` starts with ends, past its closing quote: letters and digits only, so that
    /// FTS5 reads it as one word, found at most once in a column (`SearchIndexWriter.eachWordOnce`).
    private static func oneWordTermEnd(_ text: Substring) -> Substring.Index? {
        guard text.first == "\"" else { return nil }
        let word = text.dropFirst().prefix { $0 != "\"" }
        guard !word.isEmpty, word.endIndex < text.endIndex,
            word.unicodeScalars.allSatisfy({ isWordScalar($0) })
        else { return nil }
        return text.index(after: word.endIndex)
    }

    /// Letters, numbers and private-use characters: what FTS5's unicode61 keeps inside a word (it splits at marks,
    /// punctuation and spaces).
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber, .privateUse:
            true
        default: false
        }
    }

    /// A record's token count, all columns together, from its `record_search_docsize` row: one SQLite varint per
    /// column. nil unless it is exactly the three columns.
    static func tokenCount(_ sizes: UnsafeRawBufferPointer) -> UInt64? {
        var total: UInt64 = 0
        var position = 0
        for _ in 0..<columns.count {
            var value: UInt64 = 0
            var length = 0
            while true {
                guard position < sizes.count else { return nil }
                let byte = sizes[position]
                position += 1
                length += 1
                // The ninth byte of an SQLite varint carries eight bits.
                if length == 9 {
                    value = value << 8 | UInt64(byte)
                    break
                }
                value = value << 7 | UInt64(byte & 0x7F)
                if byte & 0x80 == 0 { break }
            }
            guard value < 1 << 32 else { return nil }
            total += value
        }
        return position == sizes.count ? total : nil
    }
}
