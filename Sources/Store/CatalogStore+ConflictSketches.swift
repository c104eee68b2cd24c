import GRDB

extension CatalogStore {
    /// How far ``fillMissingConflictSketches(matcher:stop:)`` got.
    public struct ConflictSketchFill: Sendable, Equatable {
        /// Block-key rows given a sketch (a record without keys gives its rows none).
        public var filled: Int
        /// False when it was stopped; it starts again next time.
        public var finished: Bool

        public init(filled: Int, finished: Bool) {
            self.filled = filled
            self.finished = finished
        }
    }

    /// Whether block keys from before migration 0019 still wait for their records' conflict sketches.
    public func conflictSketchesPending() throws -> Bool {
        try writer.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM conflict_sketch_fill)") ?? false }
    }

    /// Gives the block-key rows written before sketches were kept (migration 0019) their records' sketches, with
    /// the catalogue open to readers and writers throughout.
    ///
    /// First every active record's sketch is computed in one pass over `source_records` in its order, on a
    /// connection of its own (the long part: the whole table is read). Then `block_keys` is filled in its own
    /// order, a 256th of its hash range a write transaction, so other writes wait for one slice at most. A row
    /// written meanwhile carries its sketch already, and a record that changed meanwhile has new rows, so only
    /// rows still without one are filled, and their records have not changed since the pass.
    /// - Parameter stop: asked every 10,000 records of the pass and between slices; true ends the fill, which then
    ///   starts again next time (what it filled stays).
    public func fillMissingConflictSketches(
        matcher: any UnionMatcher, stop: @Sendable () -> Bool = { false }
    ) throws -> ConflictSketchFill {
        guard try conflictSketchesPending() else { return ConflictSketchFill(filled: 0, finished: true) }
        guard let sketches = try sketchesOfActiveRecords(matcher: matcher, stop: stop) else {
            return ConflictSketchFill(filled: 0, finished: false)
        }
        let sketchOf = DatabaseFunction("calisd_sketch_of", argumentCount: 1, pure: true) { values in
            Int64.fromDatabaseValue(values[0]).flatMap(sketches.sketch(of:))
        }
        var filled = 0
        for slice in 0..<UInt64(256) {
            if stop() { return ConflictSketchFill(filled: filled, finished: false) }
            // Signed order is unsigned order with the top bit flipped: slice by the flipped hash's top byte.
            let low = Int64(bitPattern: (slice << 56) ^ (1 << 63))
            let high = Int64(bitPattern: ((slice << 56) | ((1 << 56) - 1)) ^ (1 << 63))
            filled += try writer.write { db in
                db.add(function: sketchOf)
                defer { db.remove(function: sketchOf) }
                try db.execute(
                    sql: """
                        UPDATE block_keys SET conflict_sketch = calisd_sketch_of(source_id)
                        WHERE hash BETWEEN ? AND ? AND conflict_sketch IS NULL AND calisd_sketch_of(source_id) IS NOT NULL
                        """, arguments: [low, high])
                return db.changesCount
            }
        }
        try writer.write { db in try db.execute(sql: "DELETE FROM conflict_sketch_fill") }
        return ConflictSketchFill(filled: filled, finished: true)
    }

    /// Every active record's sketch, by source id; nil when stopped.
    private func sketchesOfActiveRecords(matcher: any UnionMatcher, stop: () -> Bool) throws -> SketchTable? {
        // Not a reader of the pool: the pass takes minutes at millions of records, and the API answers from those.
        let connection: any DatabaseReader =
            if let pool = writer as? DatabasePool { try Self.sideConnection(pool.path, label: "calisd.sketch-fill") } else { writer }
        return try connection.read { db -> SketchTable? in
            let expected = try Int.fetchOne(db, sql: "SELECT value FROM catalogue_totals WHERE name = 'active_source_records'") ?? 0
            var table = SketchTable(reserving: expected)
            let records = try RawStatement(
                db, "SELECT id, features FROM source_records WHERE status = 'active' AND features IS NOT NULL ORDER BY id")
            var read = 0
            while try records.step() {
                read += 1
                if read % 10_000 == 0 && stop() { return nil }
                if let sketch = matcher.conflictSketch(MatchKey.decode(records.text(1))) { table.append(records.int64(0), sketch) }
            }
            return table
        }
    }
}

/// Sketches by source id, in ascending id order: two flat arrays, 16 bytes a record.
private struct SketchTable: Sendable {
    private var ids: [Int64] = []
    private var sketches: [Int64] = []

    init(reserving count: Int) {
        ids.reserveCapacity(count)
        sketches.reserveCapacity(count)
    }

    mutating func append(_ id: Int64, _ sketch: Int64) {
        ids.append(id)
        sketches.append(sketch)
    }

    func sketch(of id: Int64) -> Int64? {
        var low = 0
        var high = ids.count
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low < ids.count && ids[low] == id ? sketches[low] : nil
    }
}
