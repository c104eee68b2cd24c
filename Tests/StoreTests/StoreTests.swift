import Foundation
import GRDB
import Synchronization
import Testing

@testable import Store

@Suite("Catalogue store: schema and migrations")
struct StoreTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The same body against an in-memory queue and an on-disk WAL pool, as the daemon runs.
    static func stores() throws -> [(String, CatalogStore, URL?)] {
        let directory = try scratch()
        return [
            ("queue", try CatalogStore.inMemory(), nil),
            ("pool", try CatalogStore(path: directory.appendingPathComponent("catalogue.sqlite").path), directory),
        ]
    }

    @Test("the binary carries exactly the migrations in migrations/, byte for byte")
    func embeddedMigrationsMatchTheFolder() throws {
        let folder = Self.root.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(EmbeddedMigrations.all.map { "\($0.name).sql" } == files)
        for (migration, file) in zip(EmbeddedMigrations.all, files) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(migration.sql + "\n" == text, "\(file) changed: run scripts/embed-migrations.py")
        }
    }

    @Test("a migration keeps foreign keys on: no foreign_key_check of the whole catalogue, which costs a random read a row at millions of records")
    func migrationsLeaveForeignKeysOn() throws {
        final class Traced: Sendable {
            let statements = Mutex<[String]>([])
        }
        let traced = Traced()
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            db.trace { event in traced.statements.withLock { $0.append("\(event)") } }
        }
        _ = try CatalogStore(writer: try DatabaseQueue(configuration: configuration))
        let statements = traced.statements.withLock { $0 }
        #expect(statements.contains { $0.contains("ALTER TABLE block_keys ADD COLUMN conflict_sketch") }, "the migrations ran")
        #expect(!statements.contains { $0.contains("foreign_key_check") || $0.contains("foreign_keys = OFF") })
    }

    @Test("opening applies every migration once, on a queue and on a WAL pool")
    func migrationsApplyOnce() throws {
        for (kind, store, directory) in try Self.stores() {
            defer { directory.map { try? FileManager.default.removeItem(at: $0) } }
            #expect(try store.appliedMigrations() == EmbeddedMigrations.all.map(\.name), "\(kind)")
            let tables = try store.writer.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
            }
            #expect(tables == ["block_keys", "catalogue_totals", "changes", "cluster_members", "conflict_sketch_fill", "file_problems", "files", "holdings", "link_overrides", "member_tokens", "members", "oai_identifiers", "record_search", "record_search_config", "record_search_content", "record_search_data", "record_search_docsize", "record_search_idx", "refresh_policies", "review_queue", "source_records", "union_records"], "\(kind)")
            if let directory {
                // Reopening the same file applies nothing again, and the journal is WAL.
                let again = try CatalogStore(path: directory.appendingPathComponent("catalogue.sqlite").path)
                #expect(try again.appliedMigrations() == EmbeddedMigrations.all.map(\.name))
                let mode = try again.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
                #expect(mode == "wal")
            }
        }
    }

    @Test("the writer keeps a 32 MiB page cache and each API reader 4 MiB, so five readers cannot hold 160 MiB")
    func readersKeepSmallerPageCachesThanTheWriter() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try CatalogStore(path: directory.appendingPathComponent("catalogue.sqlite").path)
        let pool = try #require(store.writer as? DatabasePool)
        #expect(try pool.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -32768)
        // Readers open as they are needed: concurrent reads open more than one, and each has the small cache.
        let sizes = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let size = try? pool.read { db in
                Thread.sleep(forTimeInterval: 0.05)
                return try Int.fetchOne(db, sql: "PRAGMA cache_size")
            }
            sizes.withLock { $0.append(size ?? 0) }
        }
        #expect(sizes.withLock { $0 } == [-4096, -4096, -4096, -4096])
    }

    @Test("a union record's answer finds its members and their holdings in indexes alone: no membership or holdings row is read")
    func unionAnswerReadsNoMembershipOrHoldingsRow() throws {
        // Each row read is a random page in a large catalogue; at 8 M records these two were a third of an answer's.
        let store = try CatalogStore.inMemory()
        let (members, holdings, implicit) = try store.writer.read { db in
            func plan(_ sql: String) throws -> [String] {
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: [1]).map { $0["detail"] as String }
            }
            return (try plan(CatalogStore.membersOfUnion), try plan(CatalogStore.holdingsOfUnion), try plan(CatalogStore.heldByMembersOfUnion))
        }
        #expect(members == ["SEARCH c USING COVERING INDEX cluster_members_by_union (union_id=?)", "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)"])
        #expect(holdings.contains("SEARCH h USING COVERING INDEX holdings_by_bib (bib_member=? AND bib_local_id=?)"), "\(holdings)")
        #expect(implicit.contains("SEARCH h USING COVERING INDEX holdings_by_bib (bib_member=? AND bib_local_id=?)"), "\(implicit)")
        for plan in [holdings, implicit] {
            #expect(plan.contains("SEARCH cm USING COVERING INDEX cluster_members_by_union (union_id=?)"), "\(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
        }
    }

    @Test("deleting a record's earlier holdings finds them by the unique key, not by member through the covering holdings_by_bib")
    func holdingsDeletesUseTheUniqueKey() throws {
        // Without statistics SQLite took holdings_by_bib (bib_member=?) here: every holding of the member, each record.
        let store = try CatalogStore.inMemory()
        let plans = try store.writer.read { db in
            let statements: [(String, StatementArguments)] = [
                (HoldingsWriter.removePreviousSQL, ["M", "bib", "1", 1]), (CatalogStore.withdrawAbsentHoldingsSQL, ["M", false, 1]),
            ]
            return try statements.map { sql, arguments in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
            }
        }
        #expect(plans[0] == ["SEARCH holdings USING INDEX sqlite_autoindex_holdings_1 (bib_member=? AND source_kind=? AND source_local_id=?)"])
        #expect(plans[1] == ["SEARCH holdings USING INDEX sqlite_autoindex_holdings_1 (bib_member=? AND source_kind=?)"])
    }

    @Test("the schema keeps its invariants: strict types, foreign keys, member codes, one record per local id")
    func invariantsLiveInTheSchema() throws {
        let store = try CatalogStore.inMemory()
        try store.writer.write { db in
            try db.execute(sql: "INSERT INTO members (code, name, created_at) VALUES ('M001', 'A library', 0)")
        }
        func fails(_ sql: String) -> Bool {
            (try? store.writer.write { db in try db.execute(sql: sql) }) == nil
        }
        #expect(fails("INSERT INTO members (code, name, created_at) VALUES ('bad code', 'x', 0)"))
        #expect(fails("INSERT INTO members (code, name, created_at) VALUES ('\(String(repeating: "A", count: 33))', 'x', 0)"))
        #expect(fails("INSERT INTO members (code, name, created_at) VALUES ('M002', 'x', 'yesterday')"))
        let record = "INSERT INTO source_records (member, local_id, flavour, original_encoding, record, content_hash, updated_at)"
        #expect(fails("\(record) VALUES ('NOBODY', '1', 'marc21', 'utf-8', x'00', x'00', 0)"))
        #expect(!fails("\(record) VALUES ('M001', '1', 'marc21', 'utf-8', x'00', x'00', 0)"))
        #expect(fails("\(record) VALUES ('M001', '1', 'marc21', 'utf-8', x'01', x'01', 0)"))
        #expect(fails("\(record) VALUES ('M001', '2', 'marc22', 'utf-8', x'00', x'00', 0)"))
        #expect(fails("INSERT INTO union_records (status, created_at, updated_at) VALUES ('merged', 0, 0)"))
    }

    @Test("a file that is not a database is a clear error, not a crash")
    func notADatabase() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("catalogue.sqlite").path
        try Data("this is not sqlite".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { try CatalogStore(path: path) }
    }
}

extension StoreTests {
    @Test("match keys stored with a record read back exactly, in every script, and a damaged value drops only its broken keys")
    func matchKeysRoundTrip() {
        let keys = [
            MatchKey("isbn", "9787020024421"), MatchKey("title", "红楼梦 全本"), MatchKey("title", "émile ou de l education"),
            MatchKey("tauth", "hobbit|"), MatchKey("part", "2 第一部"),
        ]
        #expect(MatchKey.decode(MatchKey.encode(keys)) == keys)
        #expect(MatchKey.decode("") == [])
        #expect(MatchKey.decode("title\u{1F}a\u{1E}broken\u{1E}\u{1E}year\u{1F}1999") == [MatchKey("title", "a"), MatchKey("year", "1999")])
    }

    @Test("the commit count moves once per committed write, not for reads or a rolled-back write, on a queue and a WAL pool")
    func commitCount() throws {
        for (kind, store, _) in try Self.stores() {
            let before = store.commits.value
            _ = try store.addMember(code: "M001", name: "One")
            #expect(store.commits.value == before + 1, "\(kind)")
            _ = try store.member(code: "M001")
            #expect(store.commits.value == before + 1, "\(kind): a read")
            #expect(throws: StoreError.self) { _ = try store.addMember(code: "M001", name: "Again") }
            #expect(store.commits.value == before + 1, "\(kind): a refused write")
            _ = try store.addMember(code: "M002", name: "Two")
            #expect(store.commits.value == before + 2, "\(kind)")
        }
    }
}
