import GRDB

/// One check of `calisd ctl verify`: what was checked, whether it holds, and what was found when it does not.
public struct VerifyCheck: Sendable, Equatable {
    public var name: String
    public var ok: Bool
    public var detail: String
}

extension CatalogStore {
    /// SQLite's integrity check and the catalogue's own invariants, on a read transaction (the writer goes on).
    /// With the matcher that placed the records, also that each record's block keys find its union record.
    public func verify(matcher: (any UnionMatcher)? = nil) throws -> [VerifyCheck] {
        try writer.read { db in
            var checks: [VerifyCheck] = []
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            checks.append(VerifyCheck(name: "sqlite integrity_check", ok: integrity == ["ok"], detail: integrity.prefix(5).joined(separator: "; ")))
            func count(_ name: String, _ sql: String, what: String) throws {
                let found = try Int.fetchOne(db, sql: sql) ?? 0
                checks.append(VerifyCheck(name: name, ok: found == 0, detail: found == 0 ? "none" : "\(found) \(what)"))
            }
            try count(
                "every active source record is in a union record",
                "SELECT count(*) FROM source_records s WHERE s.status = 'active' AND NOT EXISTS (SELECT 1 FROM cluster_members cm WHERE cm.source_id = s.id)",
                what: "active source records in no union record")
            try count(
                "only active source records are in union records",
                "SELECT count(*) FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id WHERE s.status <> 'active'",
                what: "deleted or withdrawn records still in a union record")
            try count(
                "every active union record has records",
                "SELECT count(*) FROM union_records u WHERE u.status = 'active' AND NOT EXISTS (SELECT 1 FROM cluster_members cm WHERE cm.union_id = u.id)",
                what: "empty active union records")
            try count(
                "only active union records have records",
                "SELECT count(*) FROM union_records u WHERE u.status <> 'active' AND EXISTS (SELECT 1 FROM cluster_members cm WHERE cm.union_id = u.id)",
                what: "merged or deleted union records with records")
            try count(
                "every master is one of its union record's records",
                """
                SELECT count(*) FROM union_records u WHERE u.status = 'active'
                  AND (u.master_id IS NULL OR NOT EXISTS (SELECT 1 FROM cluster_members cm WHERE cm.union_id = u.id AND cm.source_id = u.master_id))
                """,
                what: "union records whose master is missing or elsewhere")
            try count(
                "no dangling redirect",
                """
                SELECT count(*) FROM union_records u LEFT JOIN union_records t ON t.id = u.redirect_to
                WHERE u.status = 'merged' AND t.id IS NULL
                """,
                what: "merged union records pointing nowhere")
            try count(
                "no block keys for records that left",
                "SELECT count(*) FROM block_keys bk JOIN source_records s ON s.id = bk.source_id WHERE s.status <> 'active'",
                what: "index rows of deleted or withdrawn records")
            try count(
                "every block key names its record's union record",
                """
                SELECT count(*) FROM block_keys bk LEFT JOIN cluster_members cm ON cm.source_id = bk.source_id
                WHERE cm.union_id IS NOT bk.union_id
                """,
                what: "index rows naming another union record than their record's")
            if let matcher {
                checks.append(try Self.everyKeyFindsItsUnion(db, matcher: matcher))
                checks.append(try Self.everySketchIsItsRecords(db, matcher: matcher))
            }
            for (name, table) in [("active_source_records", "source_records"), ("active_union_records", "union_records")] {
                let kept = try Int.fetchOne(db, sql: "SELECT value FROM catalogue_totals WHERE name = ?", arguments: [name])
                let counted = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE status = 'active'") ?? 0
                checks.append(
                    VerifyCheck(
                        name: "the kept total of active \(table) is their count", ok: kept == counted,
                        detail: kept == counted ? "\(counted)" : "kept \(kept.map(String.init) ?? "none"), counted \(counted)"))
            }
            return checks
        }
    }

    /// A row's sketch rules candidates out, so one that is not its record's could keep a record from its match.
    private static func everySketchIsItsRecords(_ db: Database, matcher: any UnionMatcher) throws -> VerifyCheck {
        let rows = try RawStatement(
            db,
            """
            SELECT bk.conflict_sketch, s.features, s.id FROM block_keys bk JOIN source_records s ON s.id = bk.source_id
            WHERE bk.conflict_sketch IS NOT NULL
            """)
        var wrong = 0
        var first: Int64?
        while try rows.step() {
            let sketch = rows.isNull(1) ? nil : matcher.conflictSketch(MatchKey.decode(rows.text(1)))
            if sketch != rows.int64(0) {
                wrong += 1
                first = first ?? rows.int64(2)
            }
        }
        return VerifyCheck(
            name: "every block key's conflict sketch is its record's", ok: wrong == 0,
            detail: wrong == 0 ? "none" : "\(wrong) index rows carry another sketch than their record's (source record \(first ?? 0) first)")
    }

    /// A union record keeps one index row a key, whichever of its records wrote it; each record's keys must
    /// still reach it, or a later copy would not find it.
    private static func everyKeyFindsItsUnion(_ db: Database, matcher: any UnionMatcher) throws -> VerifyCheck {
        let records = try RawStatement(
            db,
            """
            SELECT s.id, s.features, cm.union_id FROM source_records s JOIN cluster_members cm ON cm.source_id = s.id
            WHERE s.status = 'active'
            """)
        let reaches = try RawStatement(db, "SELECT 1 FROM block_keys WHERE hash = ? AND union_id = ? LIMIT 1")
        var missing = 0
        var first: Int64?
        while try records.step() {
            let unionID = records.int64(2)
            for key in matcher.blockingKeys(MatchKey.decode(records.text(1))) {
                reaches.bind(1, key.blockHash)
                reaches.bind(2, unionID)
                let found = try reaches.step()
                reaches.reset()
                if !found {
                    missing += 1
                    first = first ?? records.int64(0)
                }
            }
        }
        return VerifyCheck(
            name: "every record's block keys find its union record", ok: missing == 0,
            detail: missing == 0 ? "none" : "\(missing) keys reach no row naming their record's union record (source record \(first ?? 0) first)")
    }
}
