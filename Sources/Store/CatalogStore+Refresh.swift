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
    /// The `from` of the next OAI-PMH harvest (nil: harvest everything).
    public var harvestFrom: String?
    /// When the last harvest started.
    public var lastAttempt: Int64?
    /// What the last successful harvest took, as JSON (records, deletions, pages, files, seconds).
    public var lastHarvest: String?
    /// The member is suspended: not harvested, never overdue.
    public var memberSuspended = false

    /// Past its due time with nothing received (drop) or harvested (oai). A harvest due now is not overdue until
    /// the scheduler has had a grace period to start it.
    public func isOverdue(now: Int64) -> Bool {
        guard !memberSuspended else { return false }
        return source == .oai ? now > nextDue + Self.harvestGraceSeconds : now > nextDue
    }

    public static let harvestGraceSeconds: Int64 = 3_600
}

extension CatalogStore {
    /// Sets (or replaces) a member's refresh policy. The next refresh is due one interval after the last success,
    /// or after now when there has been none.
    /// A harvested member with no harvest yet is due after `firstDelay` (jitter, so members set up together do not
    /// all fire at once). A changed endpoint, set or prefix starts again with a full harvest.
    public func setRefreshPolicy(
        member: String, source: RefreshPolicy.Source, intervalSeconds: Int64, oaiURL: String? = nil, oaiSet: String? = nil,
        oaiPrefix: String? = nil, firstDelay: Int64 = 0, by actor: String, now: Int64 = Self.now()
    ) throws -> RefreshPolicy {
        try writer.write { db in
            guard try Self.memberRow(db, member) != nil else { throw StoreError(.notFound, "no member \(member)") }
            let earlier = try Self.refreshPolicies(db, member: member).first
            if source == .oai {
                let sameEndpoint = earlier.map { $0.source == .oai && $0.oaiURL == oaiURL && $0.oaiSet == oaiSet && $0.oaiPrefix == oaiPrefix } ?? false
                let lastHarvest = sameEndpoint ? earlier?.lastSuccess : nil
                try db.execute(
                    sql: """
                        INSERT INTO refresh_policies (member, source, interval_seconds, oai_url, oai_set, oai_prefix, last_success,
                            next_due, harvest_from, updated_at)
                        VALUES (?1, 'oai', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                        ON CONFLICT (member) DO UPDATE SET source = 'oai', interval_seconds = ?2, oai_url = ?3, oai_set = ?4,
                            oai_prefix = ?5, last_success = ?6, next_due = ?7, harvest_from = ?8, failures = 0, last_error = NULL,
                            updated_at = ?9
                        """,
                    arguments: [
                        member, intervalSeconds, oaiURL, oaiSet, oaiPrefix, lastHarvest,
                        lastHarvest.map { $0 + intervalSeconds } ?? now + firstDelay, sameEndpoint ? earlier?.harvestFrom : nil, now,
                    ])
                try db.execute(
                    sql: """
                        INSERT INTO changes (at, kind, member, detail)
                        VALUES (?, 'member-refresh-policy', ?, json_object('source', 'oai', 'interval', ?, 'url', ?, 'set', ?, 'prefix', ?, 'by', ?))
                        """,
                    arguments: [now, member, intervalSeconds, oaiURL, oaiSet, oaiPrefix, actor])
                return try Self.refreshPolicies(db, member: member).first!
            }
            let lastSnapshot = try Int64.fetchOne(
                db, sql: "SELECT max(finished_at) FROM files WHERE member = ? AND mode = 'full' AND state = 'done'", arguments: [member])
            try db.execute(
                sql: """
                    INSERT INTO refresh_policies (member, source, interval_seconds, oai_url, oai_set, oai_prefix, last_success,
                        next_due, updated_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                    ON CONFLICT (member) DO UPDATE SET source = ?2, interval_seconds = ?3, oai_url = ?4, oai_set = ?5,
                        oai_prefix = ?6, last_success = CASE WHEN refresh_policies.source = 'drop' THEN refresh_policies.last_success ELSE ?7 END,
                        next_due = coalesce(CASE WHEN refresh_policies.source = 'drop' THEN refresh_policies.last_success END, ?7, ?9) + ?3,
                        harvest_from = NULL, failures = 0, last_error = NULL, updated_at = ?9
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
                SELECT member, source, interval_seconds, oai_url, oai_set, oai_prefix, last_success, next_due, failures, last_error,
                    harvest_from, last_attempt, last_harvest, (SELECT status FROM members WHERE code = member) = 'suspended' AS suspended
                FROM refresh_policies WHERE ?1 IS NULL OR member = ?1 ORDER BY member
                """, arguments: [member]
        ).map { row in
            RefreshPolicy(
                member: row["member"], source: RefreshPolicy.Source(rawValue: row["source"]) ?? .drop,
                intervalSeconds: row["interval_seconds"], oaiURL: row["oai_url"], oaiSet: row["oai_set"], oaiPrefix: row["oai_prefix"],
                lastSuccess: row["last_success"], nextDue: row["next_due"], failures: row["failures"], lastError: row["last_error"],
                harvestFrom: row["harvest_from"], lastAttempt: row["last_attempt"], lastHarvest: row["last_harvest"],
                memberSuspended: row["suspended"])
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

/// What the scheduler writes about a member's harvests.
extension CatalogStore {
    /// Harvested members whose next harvest is due, the most overdue first.
    public func dueHarvests(now: Int64 = Self.now()) throws -> [RefreshPolicy] {
        try writer.read { db in
            let members = try String.fetchAll(
                db,
                sql: """
                    SELECT member FROM refresh_policies
                    WHERE source = 'oai' AND next_due <= ? AND member IN (SELECT code FROM members WHERE status = 'active')
                    ORDER BY next_due, member
                    """,
                arguments: [now])
            return try members.flatMap { try Self.refreshPolicies(db, member: $0) }
        }
    }

    /// `calisd ctl refresh CODE`: the member's harvest is due now.
    public func requestRefresh(member: String, by actor: String, now: Int64 = Self.now()) throws -> RefreshPolicy {
        try writer.write { db in
            guard let policy = try Self.refreshPolicies(db, member: member).first else {
                throw StoreError(.notFound, "\(member) has no refresh policy; set one with calisd ctl members set \(member) --refresh-interval 1d --source oai --oai-url URL")
            }
            guard policy.source == .oai else {
                throw StoreError(.conflict, "\(member) refreshes by drop: calisd waits for its full snapshot and has nothing to fetch")
            }
            try db.execute(sql: "UPDATE refresh_policies SET next_due = ?, updated_at = ? WHERE member = ?", arguments: [now, now, member])
            try db.execute(
                sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, 'member-refresh-requested', ?, json_object('by', ?))",
                arguments: [now, member, actor])
            return try Self.refreshPolicies(db, member: member).first!
        }
    }

    public func harvestStarted(member: String, now: Int64 = Self.now()) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE refresh_policies SET last_attempt = ? WHERE member = ?", arguments: [now, member])
        }
    }

    /// A harvest went to its end: everything it took is in the spool. The next takes what changed `from` on.
    public func harvestSucceeded(member: String, from: String?, summary: String, nextDue: Int64, now: Int64 = Self.now()) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE refresh_policies SET last_success = ?1, harvest_from = ?2, last_harvest = ?3, next_due = ?4, failures = 0,
                        last_error = NULL, updated_at = ?1
                    WHERE member = ?5 AND source = 'oai'
                    """, arguments: [now, from, summary, nextDue, member])
        }
    }

    public func harvestFailed(member: String, error: String, nextDue: Int64, now: Int64 = Self.now()) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE refresh_policies SET failures = failures + 1, last_error = ?1, next_due = ?2, updated_at = ?3
                    WHERE member = ?4 AND source = 'oai'
                    """, arguments: [error, nextDue, now, member])
        }
    }

    /// Remembers which local record each harvested OAI identifier is.
    public func recordOAIIdentifiers(member: String, _ entries: [(identifier: String, localID: String, datestamp: String)]) throws {
        guard !entries.isEmpty else { return }
        try writer.write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO oai_identifiers (member, identifier, local_id, datestamp) VALUES (?, ?, ?, ?)
                    ON CONFLICT (member, identifier) DO UPDATE SET local_id = excluded.local_id, datestamp = excluded.datestamp
                    """)
            for entry in entries {
                try statement.execute(arguments: [member, entry.identifier, entry.localID, entry.datestamp])
            }
        }
    }

    /// The local ids of harvested identifiers; an identifier never harvested is absent.
    public func localIDs(member: String, oaiIdentifiers identifiers: [String]) throws -> [String: String] {
        try writer.read { db in
            let statement = try db.makeStatement(sql: "SELECT local_id FROM oai_identifiers WHERE member = ? AND identifier = ?")
            var found: [String: String] = [:]
            for identifier in identifiers {
                if let local = try String.fetchOne(statement, arguments: [member, identifier]) { found[identifier] = local }
            }
            return found
        }
    }
}
