import Dedup
import Foundation
import GRDB
import MARC
@testable import Store
import Testing

/// Placement that takes read-ahead's answers must place every record exactly where reading again would have:
/// the same union records, memberships, evidence, block keys, review queue and change log.
@Suite("read-ahead answers")
struct ReadAheadAnswersTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MARCTests/Fixtures")
    static let now: Int64 = 1_764_000_000
    static let members = ["A", "B", "C", "D", "E"]

    static func records(_ name: String) throws -> [MARCRecord] {
        let reader = try MARCReaders.open(path: fixtures.appendingPathComponent(name).path).reader
        var records: [MARCRecord] = []
        while let item = try reader.next() {
            if let record = item.record { records.append(record) }
        }
        return records
    }

    /// The record without the fields of `tags`: how members' copies of one book differ.
    static func without(_ tags: Set<String>, _ record: MARCRecord) -> MARCRecord {
        var copy = MARCRecord(leader: record.leader)
        for field in record.fields where !tags.contains(field.tag.description) { copy.append(field) }
        return copy
    }

    /// Books that share titles and authors but differ in part, edition, year or ISBN: candidates that a conflict
    /// sketch, a master or a comparison must rule out, and near misses for the review queue.
    static func lookalikes() -> [MARCRecord] {
        var books: [MARCRecord] = []
        for (index, title) in ["The water world", "A history of England", "Principles of chemistry"].enumerated() {
            books.append(EngineTests.bookRecord(title: title, year: "1999", isbn: index == 0 ? "9780306406157" : nil))
            books.append(EngineTests.bookRecord(title: title, part: "v. 2", year: "1999"))
            books.append(EngineTests.bookRecord(title: title, edition: "2nd ed.", year: "2001"))
            books.append(EngineTests.bookRecord(title: title, year: "2000", author: nil))
            books.append(EngineTests.bookRecord(title: title + " :", subtitle: "a survey", year: "1999", pages: "300 p."))
        }
        return books
    }

    /// Five members' batches, in the order they are committed: the real LoC and CJK records and the lookalikes,
    /// each member's copy with its own fields left out (the last member's whole); then changes of A's records to another book's, and
    /// deletions, so records leave clusters, clusters split and block keys are dropped and written again.
    static func batches() throws -> [BatchCommit] {
        let books = try records("loc-books-50.mrc") + records("loc-cjk-20.mrc") + lookalikes()
        // The poorest copies come first, so that a richer copy joining later takes over as master.
        let variants: [Set<String>] = [["100", "020", "300"], ["260", "264", "300"], ["020"], ["245"], []]
        var batches: [BatchCommit] = []
        var file: Int64 = 0
        /// A copy ranks as master by its number of fields, as ingest's quality does after the encoding level.
        func incoming(_ record: MARCRecord, id: String, deleted: Bool = false) throws -> IncomingRecord {
            var incoming = try EngineTests.incoming(record, id: id, deleted: deleted)
            incoming.quality = record.fields.count
            return incoming
        }
        func add(_ member: String, _ records: [IncomingRecord]) {
            file += 1
            batches.append(BatchCommit(fileID: file, member: member, records: records, progress: records.count))
        }
        for start in stride(from: 0, to: books.count, by: 12) {
            for (number, member) in members.enumerated() {
                let part = books[start..<min(start + 12, books.count)].enumerated().filter { (start + $0.offset + number) % 5 != 0 }
                add(member, try part.map { try incoming(without(variants[number], $0.element), id: "\(start + $0.offset)") })
            }
        }
        // A's records become other books (a changed record leaves its cluster), then some are deleted.
        add("A", try (0..<books.count).filter { $0 % 7 == 1 }.map { try incoming(books[($0 + 3) % books.count], id: "\($0)") })
        add("B", try (0..<books.count).filter { $0 % 9 == 2 }.map { try incoming(books[$0], id: "\($0)", deleted: true) })
        add("A", try (0..<books.count).filter { $0 % 7 == 1 }.map { try incoming(books[$0], id: "\($0)") })
        // A book only C has, deleted, then sent by D: answers D read before the deletion name the emptied union record.
        let only = EngineTests.bookRecord(title: "A grammar of the Tibetan language", year: "1887", author: "Jäschke, H. A.")
        add("C", [try incoming(only, id: "only")])
        add("C", [try incoming(only, id: "only", deleted: true)])
        add("D", [try incoming(only, id: "only")])
        return batches
    }

    /// The placement's whole result, in a stable order.
    static func placed(_ store: CatalogStore) throws -> [String] {
        try store.writer.read { db in
            let queries = [
                "SELECT id, status, master_id, redirect_to FROM union_records ORDER BY id",
                "SELECT source_id, union_id, decision, score, compared_with, evidence FROM cluster_members ORDER BY source_id",
                "SELECT hash, source_id, union_id, conflict_sketch FROM block_keys ORDER BY hash, source_id",
                "SELECT source_id, union_id, score FROM review_queue ORDER BY source_id, union_id",
                "SELECT kind, union_id, source_id, member FROM changes ORDER BY seq",
            ]
            return try queries.flatMap { sql in
                try Row.fetchAll(db, sql: sql).map { $0.description }
            }
        }
    }

    static func prepared(_ store: CatalogStore) throws {
        for member in members { _ = try store.addMember(code: member, name: member) }
        for file in 1...60 {
            _ = try store.beginFile(member: members[(file - 1) % members.count], name: "f\(file)", sha256: "\(file)", size: 0, mode: "incremental")
        }
    }

    /// Commits `batches` `together` at a time, each with answers read `lag` groups before it is committed (0: just
    /// before), as the commit lane does while the worker reads ahead; nil: without answers.
    static func load(_ store: CatalogStore, _ batches: [BatchCommit], lag: Int?, together: Int = 1) throws {
        let matcher = EngineMatcher()
        try prepared(store)
        var groups = stride(from: 0, to: batches.count, by: together).map { Array(batches[$0..<min($0 + together, batches.count)]) }
        func answer(_ group: Int) {
            guard lag != nil, group < groups.count else { return }
            for index in groups[group].indices {
                for (record, answers) in store.readAhead(for: groups[group][index].records, member: groups[group][index].member, matcher: matcher) {
                    groups[group][index].records[record].answers = answers
                }
            }
        }
        for group in 0...(lag ?? 0) { answer(group) }
        for group in groups.indices {
            _ = try store.commitBatches(groups[group], matcher: matcher, now: Self.now)
            // Each file's ending, as the lane runs it after the batches' commit.
            for batch in groups[group] {
                try store.updateFile(id: batch.fileID, state: .done, finished: true, now: Self.now)
                try store.setReport(id: batch.fileID, report: "done")
            }
            // Halfway, a full snapshot from C withdraws C's records it did not carry: clusters lose records.
            if group == groups.count / 2 {
                _ = try store.withdrawAbsent(fileID: groups[group].last!.fileID, member: "C", matcher: matcher, now: Self.now)
            }
            answer(group + 1 + (lag ?? 0))
        }
    }

    @Test(
        "records placed with read-ahead's answers, read just before or several commits before, are placed exactly as when placement reads everything itself",
        arguments: [(0, 1), (1, 1), (2, 1), (1, 3), (4, 2)])
    func answersPlaceAsReadingDoes(lag: Int, together: Int) throws {
        let batches = try Self.batches()
        let reference = try CatalogStore.inMemory()
        try Self.load(reference, batches, lag: nil, together: together)
        let expected = try Self.placed(reference)
        #expect(expected.count > 1_000, "the batches place enough to compare: \(expected.count) rows")
        try EngineTests.withCatalogueOnDisk("calisd-answers-\(lag)-\(together)") { store in
            try Self.load(store, batches, lag: lag, together: together)
            let placed = try Self.placed(store)
            #expect(placed.count == expected.count)
            for (index, (row, wanted)) in zip(placed, expected).enumerated() where row != wanted {
                Issue.record("row \(index): \(row), expected \(wanted)")
                break
            }
            let uses = store.readAheadAnswers
            // Both ways are taken: answers still current, and answers a later commit made stale. Files' endings
            // and withdrawals are journaled, so they leave most answers standing.
            #expect(uses.taken > 100 && uses.taken * 2 > uses.refused, "answers taken and refused: \(uses)")
            if lag > 0 { #expect(uses.refused > 0, "stale answers refused: \(uses)") }
        }
    }

    @Test("a commit that is not ingest's batches (a member's priority, which chooses masters again) makes every answer read before it stale")
    func otherCommitsMakeAnswersStale() throws {
        try EngineTests.withCatalogueOnDisk("calisd-answers-other") { store in
            let matcher = EngineMatcher()
            try Self.prepared(store)
            let book = EngineTests.bookRecord(title: "The water world", year: "1999", isbn: "9780306406157")
            _ = try store.commitBatches(
                [BatchCommit(fileID: 1, member: "A", records: [try EngineTests.incoming(book, id: "1")], progress: 1)], matcher: matcher)
            var batch = BatchCommit(fileID: 2, member: "B", records: [try EngineTests.incoming(book, id: "1")], progress: 1)
            for (record, answers) in store.readAhead(for: batch.records, member: "B", matcher: matcher) {
                batch.records[record].answers = answers
            }
            #expect(batch.records[0].answers?.unionsByKey.isEmpty == false, "the answers name A's union record")
            _ = try store.setPriority(member: "B", to: 9, by: "test")
            _ = try store.commitBatches([batch], matcher: matcher)
            let uses = store.commits.journal.uses
            #expect(uses.taken == 0 && uses.refused > 0, "\(uses)")
            #expect(try store.sourceRecord(member: "B", localID: "1")?.unionID == store.sourceRecord(member: "A", localID: "1")?.unionID)
        }
    }
}
