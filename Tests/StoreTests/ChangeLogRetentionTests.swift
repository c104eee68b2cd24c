import Foundation
import GRDB
import GRDBSQLite
import Testing

@testable import Store

/// `[retention] changes_days` on the change log: the old entries go, from the oldest, a chunk a transaction; the
/// latest and everything inside the window stay.
@Suite("Catalogue store: change-log retention")
struct ChangeLogRetentionTests {
    static func log(_ store: CatalogStore, at times: [Int64]) throws {
        try store.writer.write { db in
            let insert = try db.makeStatement(sql: "INSERT INTO changes (at, kind) VALUES (?, 'record-added')")
            for at in times { try insert.execute(arguments: [at]) }
        }
    }

    static func remaining(_ store: CatalogStore) throws -> [Int64] {
        try store.writer.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM changes ORDER BY seq") }
    }

    @Test("pruning reads the pages of the entries that go, not the whole log: at 8 M records a scan held ingest for 15 minutes")
    func pruningReadsOnlyTheOldHead() throws {
        let directory = try StoreTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("catalogue.sqlite").path
        do {
            let store = try CatalogStore(path: path)
            try Self.log(store, at: Array(repeating: 1, count: 5))
            try store.writer.write { db in
                // About 1,700 pages of entries inside the window, each with a detail as long as a merge's.
                let insert = try db.makeStatement(sql: "INSERT INTO changes (at, kind, detail) VALUES (5000, 'merged', ?)")
                for _ in 0..<20_000 { try insert.execute(arguments: [String(repeating: "x", count: 300)]) }
            }
        }
        // A new connection starts with an empty page cache, as the daemon does at start.
        let store = try CatalogStore(path: path)
        func pagesRead() -> Int32 {
            store.writer.writeWithoutTransaction { db in
                var current: Int32 = 0
                var highest: Int32 = 0
                sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_MISS, &current, &highest, 0)
                return current
            }
        }
        let before = pagesRead()
        #expect(try store.pruneChanges(before: 1_000) == 5)
        let read = pagesRead() - before
        #expect(read < 20, "pruning five entries read \(read) pages")
        #expect(try Self.remaining(store).first == 6)
    }

    @Test("entries older than the cutoff go from the oldest, across many chunks; the first newer entry stops it, and the latest always stays")
    func oldHeadGoesInChunks() throws {
        for (name, store, directory) in try StoreTests.stores() {
            defer { if let directory { try? FileManager.default.removeItem(at: directory) } }
            // 25 old entries, a new one, an old one written after it (the clock stepped back), three new ones, and
            // an old latest entry.
            try Self.log(store, at: (1...25).map { 100 + $0 } + [2_000, 500, 3_000, 3_000, 3_000, 50])
            #expect(try store.pruneChanges(before: 1_000, chunk: 4) == 25, "\(name)")
            #expect(try Self.remaining(store) == [26, 27, 28, 29, 30, 31], "\(name)")
            #expect(try store.pruneChanges(before: 1_000, chunk: 4) == 0, "\(name): nothing more until the head is old")
            #expect(try store.pruneChanges(before: 4_000, chunk: 4) == 5, "\(name)")
            #expect(try Self.remaining(store) == [31], "\(name): the latest stays, however old")
        }
    }

    @Test("a log whose old head fills its chunks exactly, an empty log and a window that keeps everything each prune right")
    func chunkBoundariesAndEmptyLogs() throws {
        let store = try CatalogStore.inMemory()
        #expect(try store.pruneChanges(before: 1_000) == 0, "an empty log")
        try Self.log(store, at: Array(repeating: 10, count: 10))
        #expect(try store.pruneChanges(before: 10, chunk: 3) == 0, "nothing is older than the cutoff")
        #expect(try store.pruneChanges(before: 11, chunk: 3) == 9, "nine old entries in three full chunks, the latest kept")
        #expect(try Self.remaining(store) == [10])
        #expect(try store.pruneChanges(before: 11, chunk: 3) == 0)
    }
}
