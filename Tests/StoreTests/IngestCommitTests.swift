import Foundation
import GRDB
import Testing

@testable import Store

@Suite("Catalogue store: members and batch commits")
struct IngestCommitTests {
    static func record(_ id: String, _ text: String, deleted: Bool = false) -> IncomingRecord {
        IncomingRecord(localID: id, flavour: "marc21", originalEncoding: "utf-8", record: Array("\(id) \(text)".utf8), deleted: deleted)
    }

    @Test("members: added once, listed, a bad or repeated code refused with a clear error")
    func members() throws {
        for (_, store, directory) in try StoreTests.stores() {
            defer { directory.map { try? FileManager.default.removeItem(at: $0) } }
            _ = try store.addMember(code: "M002", name: "Second")
            _ = try store.addMember(code: "M001", name: "First")
            #expect(try store.members().map(\.code) == ["M001", "M002"])
            #expect(try store.member(code: "M001")?.name == "First")
            #expect(try store.member(code: "NOPE") == nil)
            #expect { try store.addMember(code: "M001", name: "Again") } throws: { ($0 as? StoreError)?.code == .conflict }
            #expect { try store.addMember(code: "no spaces", name: "x") } throws: { ($0 as? StoreError)?.code == .invalid }
        }
    }

    @Test("a batch adds, an identical re-submission changes nothing, changes and deletions are counted, progress moves with it")
    func batches() throws {
        for (kind, store, directory) in try StoreTests.stores() {
            defer { directory.map { try? FileManager.default.removeItem(at: $0) } }
            _ = try store.addMember(code: "M001", name: "First")
            let file = try store.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 3, mode: "incremental")
            #expect(try store.progress(ofFile: file) == 0)
            let first = try store.commitBatch(
                fileID: file, member: "M001", records: [Self.record("1", "a"), Self.record("2", "b"), Self.record("3", "c")], progress: 3)
            #expect(first.added == 3, "\(kind)")
            #expect(try store.progress(ofFile: file) == 3)
            let again = try store.commitBatch(
                fileID: file, member: "M001", records: [Self.record("1", "a"), Self.record("2", "B"), Self.record("3", "", deleted: true)],
                progress: 6)
            #expect(again == { var c = BatchCounts(); c.unchanged = 1; c.changed = 1; c.deleted = 1; return c }(), "\(kind)")
            #expect(try store.activeRecordCount(member: "M001") == 2)
            let totals = try store.writer.read { db in
                try Row.fetchOne(db, sql: "SELECT read, added, changed, unchanged, deleted, progress FROM files WHERE id = ?", arguments: [file])!
            }
            #expect(totals["read"] as Int == 6 && totals["added"] as Int == 3 && totals["changed"] as Int == 1)
            #expect(totals["unchanged"] as Int == 1 && totals["deleted"] as Int == 1 && totals["progress"] as Int == 6)
            // The change log has one entry per change, in increasing sequence: each new record starts its union
            // record (no matcher here), the deleted one's union record goes with it.
            let kinds = try store.writer.read { db in try String.fetchAll(db, sql: "SELECT kind FROM changes ORDER BY seq") }
            #expect(kinds == [
                "record-added", "union-created", "record-added", "union-created", "record-added", "union-created",
                "record-changed", "record-deleted", "union-deleted",
            ])
        }
    }

    @Test("the kept totals of active records and union records follow additions, changes, deletions, a withdrawal and a failed batch")
    func keptTotalsFollowTheRows() throws {
        for (kind, store, directory) in try StoreTests.stores() {
            defer { directory.map { try? FileManager.default.removeItem(at: $0) } }
            func expectCountsMatch(_ step: String) throws {
                let counted = try store.writer.read { db in
                    (
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM source_records WHERE status = 'active'")!,
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM union_records WHERE status = 'active'")!
                    )
                }
                let kept = try store.counts()
                #expect(kept.sourceRecords == counted.0 && kept.unionRecords == counted.1, "\(kind) \(step): kept \(kept), counted \(counted)")
            }
            try expectCountsMatch("empty")
            _ = try store.addMember(code: "M001", name: "First")
            let file = try store.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 3, mode: "incremental")
            _ = try store.commitBatch(
                fileID: file, member: "M001", records: (1...5).map { Self.record("\($0)", "text \($0)") }, progress: 5)
            try expectCountsMatch("five added")
            #expect(try store.counts().sourceRecords == 5)
            _ = try store.commitBatch(
                fileID: file, member: "M001",
                records: [Self.record("1", "changed"), Self.record("2", "", deleted: true), Self.record("9", "", deleted: true)], progress: 8)
            try expectCountsMatch("one changed, one deleted, one unknown deletion")
            #expect(try store.counts().sourceRecords == 4)
            var broken = Self.record("7", "x")
            broken.flavour = "marc22"
            #expect(throws: (any Error).self) {
                try store.commitBatch(fileID: file, member: "M001", records: [Self.record("6", "y"), broken], progress: 10)
            }
            try expectCountsMatch("a failed batch")
            let full = try store.beginFile(member: "M001", name: "all.full.mrc", sha256: "01", size: 3, mode: "full")
            _ = try store.commitBatch(fileID: full, member: "M001", records: [Self.record("1", "changed")], progress: 1)
            #expect(try store.withdrawAbsent(fileID: full, member: "M001") == 3)
            try expectCountsMatch("withdrawn by a full snapshot")
            #expect(try store.counts().sourceRecords == 1)
            try store.writer.write { db in try db.execute(sql: "UPDATE source_records SET status = 'active' WHERE local_id = '3'") }
            try expectCountsMatch("a record made active again by hand")
        }
    }

    /// A catalogue stopped at an older migration, with member M001, one file of it, and its records as that
    /// schema stored them.
    static func olderCatalogue(upTo migration: String, records: [(id: Int64, status: String)]) throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try Migrations.migrator().migrate(queue, upTo: migration)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO members (code, name, created_at) VALUES ('M001', 'First', 0)")
            try db.execute(sql: "INSERT INTO files (id, member, name, sha256, size, mode, state, received_at) VALUES (1, 'M001', 'a.mrc', '00', 1, 'incremental', 'done', 0)")
            for (id, status) in records {
                try db.execute(
                    sql: """
                        INSERT INTO source_records (id, member, local_id, flavour, original_encoding, record, content_hash, status, file_id, updated_at)
                        VALUES (?, 'M001', ?, 'marc21', 'utf-8', x'00', x'00', ?, 1, 0)
                        """, arguments: [id, "\(id)", status])
            }
        }
        return queue
    }

    @Test("a catalogue from before the kept totals starts them from its rows")
    func keptTotalsStartFromExistingRows() throws {
        let records = [(id: Int64(1), status: "active"), (2, "active"), (3, "deleted")]
        let queue = try Self.olderCatalogue(upTo: "0015_union_record_changes", records: records)
        try queue.write { db in
            for (id, status) in records {
                try db.execute(
                    sql: "INSERT INTO union_records (id, status, created_at, updated_at) VALUES (?, ?, 0, 0)",
                    arguments: [id, status == "active" ? "active" : "deleted"])
            }
        }
        let store = try CatalogStore(writer: queue)
        let counts = try store.counts()
        #expect(counts.sourceRecords == 2 && counts.unionRecords == 2)
    }

    @Test("a catalogue from before block keys named their union record gets them from its memberships")
    func blockKeysLearnTheirUnionRecords() throws {
        let queue = try Self.olderCatalogue(upTo: "0016_catalogue_totals", records: [(1, "active"), (2, "active"), (3, "active")])
        try queue.write { db in
            for (id, union) in [(Int64(1), 10), (2, 10), (3, 30)] {
                try db.execute(sql: "INSERT OR IGNORE INTO union_records (id, master_id, created_at, updated_at) VALUES (?, ?, 0, 0)", arguments: [union, id])
                try db.execute(sql: "INSERT INTO cluster_members (source_id, union_id) VALUES (?, ?)", arguments: [id, union])
                for hash in [7, 100 + id] {
                    try db.execute(sql: "INSERT INTO block_keys (hash, source_id) VALUES (?, ?)", arguments: [hash, id])
                }
            }
        }
        let store = try CatalogStore(writer: queue)
        let named = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT source_id, union_id FROM block_keys ORDER BY source_id, hash").map { [$0[0] as Int64, $0[1] as Int64] }
        }
        #expect(named == [[1, 10], [1, 10], [2, 10], [2, 10], [3, 30], [3, 30]])
        #expect(try store.unionIDs(withKey: MatchKey("isbn", "x"), limit: 5) == [])
        #expect(try store.verify().first { $0.name == "every block key names its record's union record" }?.ok == true)
    }

    @Test("a batch that fails part-way leaves neither records nor progress: a restart resumes where the last commit ended")
    func failedBatchIsAtomic() throws {
        let store = try StoreTests.stores()[1]
        defer { store.2.map { try? FileManager.default.removeItem(at: $0) } }
        _ = try store.1.addMember(code: "M001", name: "First")
        let file = try store.1.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 3, mode: "incremental")
        _ = try store.1.commitBatch(fileID: file, member: "M001", records: [Self.record("1", "a")], progress: 1)
        var broken = Self.record("3", "c")
        broken.flavour = "marc22"  // the schema refuses it, after record 2 was written in the same transaction
        #expect(throws: (any Error).self) {
            try store.1.commitBatch(fileID: file, member: "M001", records: [Self.record("2", "b"), broken], progress: 3)
        }
        #expect(try store.1.progress(ofFile: file) == 1)
        #expect(try store.1.activeRecordCount(member: "M001") == 1)
    }

    @Test("several files' batches commit in one transaction, each file marked active and moved on; one refused record leaves none of them")
    func batchesOfSeveralFilesCommitTogether() throws {
        let store = try StoreTests.stores()[1]
        defer { store.2.map { try? FileManager.default.removeItem(at: $0) } }
        _ = try store.1.addMember(code: "M001", name: "First")
        _ = try store.1.addMember(code: "M002", name: "Second")
        let first = try store.1.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 3, mode: "incremental", state: .queued)
        let second = try store.1.beginFile(member: "M002", name: "b.mrc", sha256: "01", size: 3, mode: "incremental", state: .queued)
        var broken = Self.record("9", "z")
        broken.flavour = "marc22"
        #expect(throws: (any Error).self) {
            try store.1.commitBatches([
                BatchCommit(fileID: first, member: "M001", records: [Self.record("1", "a")], progress: 1, activation: .init(total: 2)),
                BatchCommit(fileID: second, member: "M002", records: [Self.record("1", "b"), broken], progress: 2, activation: .init(total: 2)),
            ])
        }
        #expect(try store.1.activeRecordCount(member: "M001") == 0)
        #expect(try store.1.file(id: first)?.state == .queued)
        #expect(try store.1.file(id: first)?.total == nil)

        let counts = try store.1.commitBatches([
            BatchCommit(fileID: first, member: "M001", records: [Self.record("1", "a")], progress: 1, activation: .init(total: 2)),
            BatchCommit(fileID: second, member: "M002", records: [Self.record("1", "b"), Self.record("2", "c")], progress: 2,
                        activation: .init(total: nil)),
            BatchCommit(fileID: first, member: "M001", records: [Self.record("2", "d")], progress: 2),
        ])
        #expect(counts.map(\.added) == [1, 2, 1])
        #expect(try store.1.activeRecordCount(member: "M001") == 2)
        #expect(try store.1.activeRecordCount(member: "M002") == 2)
        let firstFile = try #require(try store.1.file(id: first))
        #expect(firstFile.state == .active && firstFile.total == 2 && firstFile.progress == 2)
        let secondFile = try #require(try store.1.file(id: second))
        #expect(secondFile.state == .active && secondFile.total == nil && secondFile.progress == 2)
    }

    @Test("a locked record keeps the central correction when its member sends it again")
    func lockedRecordIsKept() throws {
        let store = try CatalogStore.inMemory()
        _ = try store.addMember(code: "M001", name: "First")
        let file = try store.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 1, mode: "incremental")
        _ = try store.commitBatch(fileID: file, member: "M001", records: [Self.record("1", "original")], progress: 1)
        try store.writer.write { db in try db.execute(sql: "UPDATE source_records SET locked = 1") }
        let counts = try store.commitBatch(fileID: file, member: "M001", records: [Self.record("1", "overwrite")], progress: 2)
        #expect(counts.unchanged == 1 && counts.changed == 0)
        let bytes = try store.writer.read { db in try Data.fetchOne(db, sql: "SELECT record FROM source_records")! }
        #expect(String(decoding: bytes, as: UTF8.self) == "1 original")
    }

    @Test("a full snapshot's withdrawals, several batches of them, take each withdrawn record out of the search index and log it")
    func withdrawalsLeaveTheSearchIndexWithTheActiveRecords() throws {
        for (kind, store, directory) in try StoreTests.stores() {
            defer { directory.map { try? FileManager.default.removeItem(at: $0) } }
            _ = try store.addMember(code: "M001", name: "First")
            let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
            let records = words.enumerated().map { index, word in
                var record = Self.record("\(index + 1)", word)
                record.search = RecordSearchText(title: word, author: "", publisher: "")
                return record
            }
            let file = try store.beginFile(member: "M001", name: "a.mrc", sha256: "00", size: 1, mode: "incremental")
            _ = try store.commitBatch(fileID: file, member: "M001", records: records, progress: records.count)
            let full = try store.beginFile(member: "M001", name: "all.full.mrc", sha256: "01", size: 1, mode: "full")
            _ = try store.commitBatch(fileID: full, member: "M001", records: [records[0], records[6]], progress: 2)
            #expect(try store.withdrawAbsent(fileID: full, member: "M001", batchSize: 2) == 5, "\(kind)")
            try store.writer.read { db in
                let active = try Int64.fetchAll(db, sql: "SELECT id FROM source_records WHERE status = 'active' ORDER BY id")
                let indexed = try Int64.fetchAll(db, sql: "SELECT rowid FROM record_search ORDER BY rowid")
                #expect(indexed == active && active.count == 2, "\(kind): indexed \(indexed), active \(active)")
                for word in words[1...5] {
                    let found = try Int.fetchOne(db, sql: "SELECT count(*) FROM record_search WHERE record_search MATCH ?", arguments: [word])
                    #expect(found == 0, "\(kind): withdrawn '\(word)' still found")
                }
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM record_search WHERE record_search MATCH 'golf'") == 1, "\(kind)")
                let logged = try Int.fetchOne(db, sql: "SELECT count(*) FROM changes WHERE kind = 'record-withdrawn'")
                #expect(logged == 5, "\(kind)")
                let counted = try Int.fetchOne(db, sql: "SELECT withdrawn FROM files WHERE id = ?", arguments: [full])
                #expect(counted == 5, "\(kind)")
            }
        }
    }
}
