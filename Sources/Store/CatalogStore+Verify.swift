import GRDB

/// One check of `calisd ctl verify`: what was checked, whether it holds, and what was found when it does not.
public struct VerifyCheck: Sendable, Equatable {
    public var name: String
    public var ok: Bool
    public var detail: String
}

extension CatalogStore {
    /// SQLite's integrity check and the catalogue's own invariants, on a read transaction (the writer goes on).
    public func verify() throws -> [VerifyCheck] {
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
}
