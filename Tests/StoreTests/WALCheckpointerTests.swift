import Foundation
import GRDB
import Testing

@testable import Store

@Suite("Catalogue store: the WAL copied back off the writer's thread")
struct WALCheckpointerTests {
    /// A catalogue on disk whose WAL is copied back at `pages` pages, with a member to commit records for.
    static func store(pages: Int32) throws -> (CatalogStore, URL) {
        let directory = try StoreTests.scratch()
        let pool = try DatabasePool(
            path: directory.appendingPathComponent("catalogue.sqlite").path, configuration: CatalogStore.configuration())
        let store = try CatalogStore(writer: pool, checkpointPages: pages)
        _ = try store.addMember(code: "M001", name: "First")
        // The schema's pages were written before the checkpointer was installed: each test starts from an empty WAL.
        // (The checkpointer may be copying the schema's pages meanwhile: SQLite refuses a second copy as busy.)
        for attempt in 1...200 {
            do {
                try store.writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 200 {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        return (store, directory)
    }

    /// Commits `count` records of about 2 KB each (a page or so of the log apiece) as one file's batch.
    static func commit(_ store: CatalogStore, _ count: Int, from first: Int) throws {
        let file = try store.beginFile(member: "M001", name: "f\(first).mrc", sha256: "\(first)", size: 1, mode: "incremental")
        let records = (first..<first + count).map { number in
            IngestCommitTests.record("\(number)", String(repeating: "record \(number) ", count: 150))
        }
        _ = try store.commitBatch(fileID: file, member: "M001", records: records, progress: count)
    }

    static func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test("a commit that fills the WAL has it copied back by the checkpointer's thread, not the writer, and the next commit starts the WAL again")
    func theCheckpointerCopiesAndTheWriterStartsAgain() async throws {
        let (store, directory) = try Self.store(pages: 50)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpointer = try #require(store.checkpointer)
        let before = checkpointer.status.completed
        try Self.commit(store, 100, from: 0)
        let filled = checkpointer.status.framesAfterLastCommit
        #expect(filled >= 50 && filled < 200, "one batch fills the WAL past the length and short of the writer's own copy: \(filled)")
        try await Self.waitFor { checkpointer.status.completed > before && checkpointer.status.lastCopy.copied == filled }
        #expect(checkpointer.status.completed > before)
        #expect(checkpointer.status.lastCopy == (Int(filled), Int(filled)), "\(checkpointer.status)")
        #expect(checkpointer.status.byWriter == 0)
        #expect(checkpointer.status.lastError == nil)
        // Every page was copied back, so the next commit writes the WAL from its start.
        try Self.commit(store, 1, from: 1000)
        #expect(checkpointer.status.framesAfterLastCommit < filled, "\(checkpointer.status)")
        #expect(try store.activeRecordCount(member: "M001") == 101)
    }

    @Test("while a reader's old snapshot holds the copy back, the writer copies for itself at four times the length; once it ends, the WAL starts again")
    func aReaderHoldingBackTheCopyLeavesItToTheWriter() async throws {
        let (store, directory) = try Self.store(pages: 20)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpointer = try #require(store.checkpointer)
        // A reader on a connection of its own, its snapshot taken before the writes: no page it might read may be
        // overwritten in the file, so no copy gets past its snapshot.
        var readerConfiguration = Configuration()
        readerConfiguration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: directory.appendingPathComponent("catalogue.sqlite").path, configuration: readerConfiguration)
        try reader.inDatabase { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM members")
        }
        for batch in 0..<6 { try Self.commit(store, 40, from: batch * 100) }
        #expect(checkpointer.status.byWriter >= 1, "\(checkpointer.status)")
        #expect(checkpointer.status.framesAfterLastCommit >= 20 * WALCheckpointer.fallbackFactor)
        try reader.inDatabase { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM source_records") == 0, "the reader's snapshot stays whole")
            try db.execute(sql: "COMMIT")
        }
        // Released: the next copy takes the whole WAL (a copy already running may still be held to the old
        // snapshot), and a later commit starts it again.
        var next = 1000
        for _ in 0..<100 {
            try Self.commit(store, 1, from: next)
            next += 1
            if checkpointer.status.framesAfterLastCommit < 20 * WALCheckpointer.fallbackFactor { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(checkpointer.status.framesAfterLastCommit < 20 * WALCheckpointer.fallbackFactor, "\(checkpointer.status)")
        #expect(try store.activeRecordCount(member: "M001") == 6 * 40 + next - 1000)
        #expect(checkpointer.status.lastError == nil)
    }
}
