import GRDB

/// An admin's link between two source records.
public enum LinkOverride: String, Sendable {
    /// Always in one union record.
    case must
    /// Never in one union record.
    case cannot
}

/// A member's record named by its member and local id.
public struct RecordReference: Sendable, Equatable, CustomStringConvertible {
    public var member: String
    public var localID: String

    public init(member: String, localID: String) {
        self.member = member
        self.localID = localID
    }

    public var description: String { "\(member):\(localID)" }
}

extension CatalogStore {
    /// Sets (or with nil removes) an override between two records and places the second one again at once, in
    /// one transaction: merged into the first's union record, split out of it, or back to what the rules decide.
    /// - Returns: the union records of the two afterwards.
    /// - Throws: ``StoreError`` `notFound` for an unknown record, `invalid` for a record linked to itself.
    @discardableResult
    public func setLink(
        _ link: LinkOverride?, _ first: RecordReference, _ second: RecordReference, by actor: String,
        matcher: any UnionMatcher, now: Int64 = Self.now()
    ) throws -> (Int64?, Int64?) {
        try writer.write { db in try Self.link(db, link, first, second, by: actor, matcher: matcher, now: now) }
    }

    static func link(
        _ db: Database, _ link: LinkOverride?, _ first: RecordReference, _ second: RecordReference, by actor: String,
        matcher: any UnionMatcher, now: Int64
    ) throws -> (Int64?, Int64?) {
        let a = try Self.sourceID(db, first)
        let b = try Self.sourceID(db, second)
        guard a.id != b.id else { throw StoreError(.invalid, "\(first) and \(second) are the same record") }
        let (low, high) = (min(a.id, b.id), max(a.id, b.id))
        if let link {
            try db.execute(
                sql: """
                    INSERT INTO link_overrides (a, b, kind, created_at, created_by) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (a, b) DO UPDATE SET kind = excluded.kind, created_at = excluded.created_at,
                        created_by = excluded.created_by
                    """, arguments: [low, high, link.rawValue, now, actor])
        } else {
            try db.execute(sql: "DELETE FROM link_overrides WHERE a = ? AND b = ?", arguments: [low, high])
        }
        try db.execute(
            sql: "INSERT INTO changes (at, kind, source_id, member, detail) VALUES (?, ?, ?, ?, json_object('with', ?, 'by', ?))",
            arguments: [now, "override-" + (link?.rawValue ?? "removed"), b.id, second.member, a.id, actor])
        if b.active {
            let placement = try ClusterPlacement(db: db, matcher: matcher, now: now)
            try placement.place(sourceID: b.id, member: second.member, keys: MatchKey.decode(b.features ?? ""), isNew: false)
        }
        let unionOf = "SELECT union_id FROM cluster_members WHERE source_id = ?"
        return (try Int64.fetchOne(db, sql: unionOf, arguments: [a.id]), try Int64.fetchOne(db, sql: unionOf, arguments: [b.id]))
    }

    /// Locks (or unlocks) a member's record: while locked, re-submissions leave it as it is.
    public func setLocked(_ record: RecordReference, _ locked: Bool, by actor: String, now: Int64 = Self.now()) throws {
        try writer.write { db in
            let source = try Self.sourceID(db, record)
            try db.execute(sql: "UPDATE source_records SET locked = ? WHERE id = ?", arguments: [locked ? 1 : 0, source.id])
            try db.execute(
                sql: "INSERT INTO changes (at, kind, source_id, member, detail) VALUES (?, ?, ?, ?, json_object('by', ?))",
                arguments: [now, locked ? "record-locked" : "record-unlocked", source.id, record.member, actor])
        }
    }

    /// The overrides a record takes part in, with the other record.
    public func links(of record: RecordReference) throws -> [(LinkOverride, RecordReference)] {
        try writer.read { db in
            let source = try Self.sourceID(db, record)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT o.kind, s.member, s.local_id FROM link_overrides o
                    JOIN source_records s ON s.id = CASE WHEN o.a = ?1 THEN o.b ELSE o.a END
                    WHERE o.a = ?1 OR o.b = ?1 ORDER BY s.member, s.local_id
                    """, arguments: [source.id]
            ).compactMap { row in
                LinkOverride(rawValue: row["kind"]).map { ($0, RecordReference(member: row["member"], localID: row["local_id"])) }
            }
        }
    }

    private static func sourceID(_ db: Database, _ record: RecordReference) throws -> (id: Int64, active: Bool, features: String?) {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT id, status = 'active' AS active, features FROM source_records WHERE member = ? AND local_id = ?",
                arguments: [record.member, record.localID])
        else { throw StoreError(.notFound, "member \(record.member) has no record \(record.localID)") }
        return (row["id"], row["active"], row["features"])
    }
}
