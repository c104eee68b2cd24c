import GRDB

/// One entry of the change log, in sequence order: what a member mirroring the catalogue applies.
public struct ChangeView: Sendable, Equatable {
    public var seq: Int64
    public var at: Int64
    public var kind: String
    public var unionID: Int64?
    public var member: String?
    /// The member's record it concerns, when one does.
    public var localID: String?
    /// JSON: the rest (a merge's survivor, who set an override, how many holdings…).
    public var detail: String?
}

extension CatalogStore {
    /// The entries after `since`, at most `limit`, in sequence order.
    public func changes(since: Int64, limit: Int) throws -> [ChangeView] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.seq, c.at, c.kind, c.union_id, c.member, s.local_id, c.detail
                    FROM changes c LEFT JOIN source_records s ON s.id = c.source_id
                    WHERE c.seq > ? ORDER BY c.seq LIMIT ?
                    """, arguments: [since, limit]
            ).map { row in
                ChangeView(
                    seq: row["seq"], at: row["at"], kind: row["kind"], unionID: row["union_id"], member: row["member"],
                    localID: row["local_id"], detail: row["detail"])
            }
        }
    }

    /// The oldest and newest sequence numbers the log holds (nil when it is empty).
    public func changeRange() throws -> (oldest: Int64, latest: Int64)? {
        try writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT min(seq) AS oldest, max(seq) AS latest FROM changes"),
                let oldest = row["oldest"] as Int64?, let latest = row["latest"] as Int64?
            else { return nil }
            return (oldest, latest)
        }
    }
}
