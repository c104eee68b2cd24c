import Foundation
import GRDB
import Testing

@testable import Store

/// Start-up asks whether the search index holds every active record from two kept counts, not by counting two
/// tables of millions of rows.
@Suite("Catalogue store: search index completeness at start")
struct SearchIndexCompletenessTests {
    static func counts(_ store: CatalogStore) throws -> (kept: Int64?, counted: Int64, complete: Bool) {
        try store.writer.read { db in
            let averages = try Data.fetchOne(db, sql: "SELECT block FROM record_search_data WHERE id = 1")
            return (
                averages.flatMap(CatalogStore.leadingVarint), try Int64.fetchOne(db, sql: "SELECT count(*) FROM record_search_docsize") ?? 0,
                try CatalogStore.searchIndexIsComplete(db)
            )
        }
    }

    @Test("FTS5's own row count, read from its averages record, is the count of indexed rows as rows come and go")
    func keptCountFollowsTheIndex() throws {
        let empty = try CatalogStore.inMemory()
        #expect(try Self.counts(empty).complete, "an empty catalogue needs no index")
        let store = try SearchRankingTests.catalogue()
        var counts = try Self.counts(store)
        #expect(counts.kept == 600 && counts.counted == 600 && counts.complete, "\(counts)")
        // A record whose search row is missing, as in a catalogue restored from before search.
        try store.writer.write { db in try db.execute(sql: "DELETE FROM record_search WHERE rowid IN (5, 17)") }
        counts = try Self.counts(store)
        #expect(counts.kept == 598 && counts.counted == 598 && !counts.complete, "\(counts)")
        try store.writer.write { db in try db.execute(sql: "DELETE FROM record_search") }
        counts = try Self.counts(store)
        #expect(counts.kept == 0 && counts.counted == 0 && !counts.complete, "\(counts)")
        #expect(try store.indexMissingSearchText { _ in RecordSearchText(title: "history", author: "", publisher: "") } == 600)
        counts = try Self.counts(store)
        #expect(counts.kept == 600 && counts.counted == 600 && counts.complete, "\(counts)")
    }

    @Test("an averages record that cannot be read falls back to counting the index rows")
    func damagedAveragesRecordFallsBackToTheCount() throws {
        let store = try SearchRankingTests.catalogue()
        // A cut-short varint: what a damaged or foreign record would give.
        try store.writer.write { db in try db.execute(sql: "UPDATE record_search_data SET block = x'81' WHERE id = 1") }
        var counts = try Self.counts(store)
        #expect(counts.kept == nil && counts.counted == 600 && counts.complete, "\(counts)")
        // One active record more than the index holds: the count, not a default, decides.
        try store.writer.write { db in
            try db.execute(sql: "UPDATE catalogue_totals SET value = value + 1 WHERE name = 'active_source_records'")
        }
        counts = try Self.counts(store)
        #expect(counts.kept == nil && counts.counted == 600 && !counts.complete, "\(counts)")
    }

    @Test("SQLite's varint is read in each of its lengths, and a cut-short one is nil", arguments: [
        ([0x00], 0), ([0x7F], 127), ([0x81, 0x00], 128), ([0x82, 0x58], 344), ([0x81, 0x80, 0x00], 16_384),
        ([0x83, 0xDC, 0xEB, 0x94, 0x00], 1_000_000_000), ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], -1),
    ] as [([UInt8], Int64)])
    func varints(bytes: [UInt8], value: Int64) {
        #expect(CatalogStore.leadingVarint(Data(bytes + [0x05, 0x80])) == value)
    }

    @Test("a varint cut short, or no bytes at all, is nil")
    func cutShortVarints() {
        #expect(CatalogStore.leadingVarint(Data()) == nil)
        #expect(CatalogStore.leadingVarint(Data([0x81])) == nil)
        #expect(CatalogStore.leadingVarint(Data([0xFF, 0xFF, 0xFF])) == nil)
    }
}
