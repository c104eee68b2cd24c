import GRDB

extension Member {
    public var isSuspended: Bool { status == "suspended" }
}

extension CatalogStore {
    /// Suspends a member (its drop folder and uploads wait, it is not harvested, its refresh is not overdue; its
    /// records and holdings stay in the catalogue) or resumes it.
    public func setMemberSuspended(
        _ code: String, suspended: Bool, reason: String?, by actor: String, now: Int64 = Self.now()
    ) throws -> Member {
        try writer.write { db in
            guard try Self.memberRow(db, code) != nil else { throw StoreError(.notFound, "no member \(code)") }
            try db.execute(
                sql: "UPDATE members SET status = ? WHERE code = ?", arguments: [suspended ? "suspended" : "active", code])
            try db.execute(
                sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, ?, ?, json_object('reason', ?, 'by', ?))",
                arguments: [now, suspended ? "member-suspended" : "member-resumed", code, reason, actor])
            return try Self.memberRow(db, code)!
        }
    }
}
