import GRDB

/// A near miss waiting for a person: a record, the union record it nearly joined, and that union's master.
public struct ReviewItem: Sendable, Equatable {
    public var id: Int64
    public var record: RecordReference
    public var unionID: Int64
    public var master: RecordReference?
    public var score: Double
    public var ruleVersion: String
    public var state: String
    public var createdAt: Int64
}

extension CatalogStore {
    public func reviews(state: String = "open", limit: Int = 100) throws -> [ReviewItem] {
        try writer.read { db in
            try Row.fetchAll(db, sql: Self.reviewSelect + " WHERE r.state = ? ORDER BY r.id LIMIT ?", arguments: [state, limit])
                .map(Self.reviewItem)
        }
    }

    /// Accepting links the record to the union record's master (must-link, so it joins); rejecting keeps them
    /// apart for good (cannot-link). One transaction.
    /// - Throws: ``StoreError`` `notFound` for an unknown item, `invalid` for one already decided.
    public func decideReview(id: Int64, accept: Bool, by actor: String, matcher: any UnionMatcher, now: Int64 = Self.now())
        throws -> ReviewItem
    {
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: Self.reviewSelect + " WHERE r.id = ?", arguments: [id]) else {
                throw StoreError(.notFound, "no review item \(id)")
            }
            let item = Self.reviewItem(row)
            guard item.state == "open" else { throw StoreError(.invalid, "review item \(id) is \(item.state) already") }
            guard let master = item.master else {
                throw StoreError(.invalid, "union record of review item \(id) has no master any more; reject it or look again")
            }
            _ = try Self.link(db, accept ? .must : .cannot, master, item.record, by: actor, matcher: matcher, now: now)
            try db.execute(
                sql: "UPDATE review_queue SET state = ?, decided_at = ?, decided_by = ? WHERE id = ?",
                arguments: [accept ? "accepted" : "rejected", now, actor, id])
            var decided = item
            decided.state = accept ? "accepted" : "rejected"
            return decided
        }
    }

    private static let reviewSelect = """
        SELECT r.id, r.union_id, r.score, r.rule_version, r.state, r.created_at, s.member, s.local_id,
               m.member AS master_member, m.local_id AS master_local_id
        FROM review_queue r JOIN source_records s ON s.id = r.source_id
        LEFT JOIN union_records u ON u.id = r.union_id LEFT JOIN source_records m ON m.id = u.master_id
        """

    private static func reviewItem(_ row: Row) -> ReviewItem {
        let masterMember: String? = row["master_member"]
        let masterLocal: String? = row["master_local_id"]
        return ReviewItem(
            id: row["id"], record: RecordReference(member: row["member"], localID: row["local_id"]), unionID: row["union_id"],
            master: masterMember.flatMap { member in masterLocal.map { RecordReference(member: member, localID: $0) } },
            score: row["score"], ruleVersion: row["rule_version"], state: row["state"], createdAt: row["created_at"])
    }
}
