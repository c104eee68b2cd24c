import GRDB

/// A member's refresh policy and where it stands.
public struct RefreshPolicy: Sendable, Equatable {
    public enum Source: String, Sendable { case drop, oai }

    public var member: String
    public var source: Source
    public var intervalSeconds: Int64
    public var oaiURL: String?
    public var oaiSet: String?
    public var oaiPrefix: String?
    public var lastSuccess: Int64?
    public var nextDue: Int64
    public var failures: Int
    public var lastError: String?

    /// Past its due time with nothing received (drop) or harvested (oai).
    public func isOverdue(now: Int64) -> Bool { now > nextDue }
}

extension CatalogStore {
    /// Sets (or replaces) a member's refresh policy. The next refresh is due one interval after the last success,
    /// or after now when there has been none.
    public func setRefreshPolicy(
        member: String, source: RefreshPolicy.Source, intervalSeconds: Int64, oaiURL: String? = nil, oaiSet: String? = nil,
        oaiPrefix: String? = nil, by actor: String, now: Int64 = Self.now()
    ) throws -> RefreshPolicy {
        try writer.write { db in
            guard try Self.memberRow(db, member) != nil else { throw StoreError(.notFound, "no member \(member)") }
            let lastSnapshot = try Int64.fetchOne(
                db, sql: "SELECT max(finished_at) FROM files WHERE member = ? AND mode = 'full' AND state = 'done'", arguments: [member])
            try db.execute(
                sql: """
                    INSERT INTO refresh_policies (member, source, interval_seconds, oai_url, oai_set, oai_prefix, last_success,
                        next_due, updated_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                    ON CONFLICT (member) DO UPDATE SET source = ?2, interval_seconds = ?3, oai_url = ?4, oai_set = ?5,
                        oai_prefix = ?6, next_due = coalesce(refresh_policies.last_success, ?7, ?9) + ?3, updated_at = ?9
                    """,
                arguments: [
                    member, source.rawValue, intervalSeconds, oaiURL, oaiSet, oaiPrefix, lastSnapshot,
                    (lastSnapshot ?? now) + intervalSeconds, now,
                ])
            try db.execute(
                sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, 'member-refresh-policy', ?, json_object('source', ?, 'interval', ?, 'by', ?))",
                arguments: [now, member, source.rawValue, intervalSeconds, actor])
            return try Self.refreshPolicies(db, member: member).first!
        }
    }

    /// Every member's refresh policy, or one member's.
    public func refreshPolicies(member: String? = nil) throws -> [RefreshPolicy] {
        try writer.read { db in try Self.refreshPolicies(db, member: member) }
    }

    static func refreshPolicies(_ db: Database, member: String?) throws -> [RefreshPolicy] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT member, source, interval_seconds, oai_url, oai_set, oai_prefix, last_success, next_due, failures, last_error
                FROM refresh_policies WHERE ?1 IS NULL OR member = ?1 ORDER BY member
                """, arguments: [member]
        ).map { row in
            RefreshPolicy(
                member: row["member"], source: RefreshPolicy.Source(rawValue: row["source"]) ?? .drop,
                intervalSeconds: row["interval_seconds"], oaiURL: row["oai_url"], oaiSet: row["oai_set"], oaiPrefix: row["oai_prefix"],
                lastSuccess: row["last_success"], nextDue: row["next_due"], failures: row["failures"], lastError: row["last_error"])
        }
    }

    /// A full snapshot of a `drop` member finished: that is its refresh; the next is due one interval on.
    func recordSnapshot(_ db: Database, member: String, at now: Int64) throws {
        try db.execute(
            sql: """
                UPDATE refresh_policies SET last_success = ?1, next_due = ?1 + interval_seconds, failures = 0, last_error = NULL,
                    updated_at = ?1
                WHERE member = ?2 AND source = 'drop'
                """, arguments: [now, member])
    }
}
