import GRDB

extension CatalogStore {
    /// Gives the block-key rows written before sketches were kept (migration 0019) their records' conflict
    /// sketches, once, in one transaction: the catalogue is either all filled or as it was.
    ///
    /// Set-wise, not row by row: the sketches are computed in one pass over `source_records` in its order, then
    /// `block_keys` is rewritten in its own order. Row by row, each row would cost a random read of its record.
    /// - Returns: the rows given a sketch (a record without keys gives its rows none); 0 when there was nothing to fill.
    public func fillMissingConflictSketches(matcher: any UnionMatcher) throws -> Int {
        try writer.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM conflict_sketch_fill)") == true else { return 0 }
            let sketch = DatabaseFunction("calisd_conflict_sketch", argumentCount: 1, pure: true) { values in
                String.fromDatabaseValue(values[0]).flatMap { matcher.conflictSketch(MatchKey.decode($0)) }
            }
            db.add(function: sketch)
            defer { db.remove(function: sketch) }
            try db.execute(
                sql: """
                    CREATE TEMP TABLE sketch_of (source_id INTEGER PRIMARY KEY, sketch INTEGER NOT NULL);
                    INSERT INTO temp.sketch_of SELECT id, sketch FROM (
                        SELECT id, calisd_conflict_sketch(features) AS sketch FROM source_records
                        WHERE status = 'active' AND features IS NOT NULL
                    ) WHERE sketch IS NOT NULL;
                    UPDATE block_keys SET conflict_sketch = (SELECT sketch FROM temp.sketch_of WHERE source_id = block_keys.source_id)
                    WHERE conflict_sketch IS NULL AND source_id IN (SELECT source_id FROM temp.sketch_of);
                    """)
            let filled = db.changesCount
            try db.execute(sql: "DROP TABLE temp.sketch_of; DELETE FROM conflict_sketch_fill")
            return filled
        }
    }
}
