import Foundation
import GRDB

/// A union record as a harvester sees it: its id, whether it still stands, and when it last changed.
public struct UnionRecordStamp: Sendable, Equatable {
    public var id: Int64
    /// active, merged or deleted; merged and deleted ones are gone for a harvester.
    public var status: String
    public var updatedAt: Int64

    public init(id: Int64, status: String, updatedAt: Int64) {
        self.id = id
        self.status = status
        self.updatedAt = updatedAt
    }
}

/// Queries behind the catalogue's published protocols (OAI-PMH, SRU): readers only.
extension CatalogStore {
    /// Union records changed from `from` to `until` (inclusive, either open), after the (updated_at, id) pair
    /// `after`, in that order; with `member`, only those holding one of its active records. At most `limit`.
    public func unionStamps(
        from: Int64?, until: Int64?, member: String?, after: (updatedAt: Int64, id: Int64)?, limit: Int
    ) throws -> [UnionRecordStamp] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: Self.stampSelect + " ORDER BY u.updated_at, u.id LIMIT ?6",
                arguments: [from ?? Int64.min, until ?? Int64.max, after?.updatedAt ?? Int64.min, after?.id ?? Int64.min, member, limit]
            ).map { UnionRecordStamp(id: $0[0], status: $0[1], updatedAt: $0[2]) }
        }
    }

    /// How many union records `unionStamps` would list from the start.
    public func unionStampCount(from: Int64?, until: Int64?, member: String?) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM (" + Self.stampSelect + ")",
                arguments: [from ?? Int64.min, until ?? Int64.max, Int64.min, Int64.min, member]) ?? 0
        }
    }

    /// When the oldest union record last changed: the earliest datestamp a harvester can ask from.
    public func earliestUnionUpdate() throws -> Int64? {
        try writer.read { db in try Int64.fetchOne(db, sql: "SELECT min(updated_at) FROM union_records") }
    }

    private static let stampSelect = """
        SELECT u.id, u.status, u.updated_at FROM union_records u
        WHERE u.updated_at BETWEEN ?1 AND ?2 AND (u.updated_at, u.id) > (?3, ?4)
          AND (?5 IS NULL OR EXISTS (
                SELECT 1 FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id
                WHERE cm.union_id = u.id AND s.member = ?5 AND s.status = 'active'))
        """

    /// How many union records match an FTS5 expression (see ``search(match:limit:offset:)``).
    public func searchCount(match: String) throws -> Int {
        try writer.read { db in
            do {
                return try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(DISTINCT c.union_id) FROM record_search
                        JOIN cluster_members c ON c.source_id = record_search.rowid WHERE record_search MATCH ?
                        """, arguments: [match]) ?? 0
            } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                throw StoreError(.invalid, "the search cannot be run: \(error.message ?? "\(error)")", cause: error)
            }
        }
    }

    /// The union records matching an FTS5 expression, lowest id first, unranked; nil when more than `limit` match.
    public func searchAll(match: String, limit: Int) throws -> [Int64]? {
        try writer.read { db in
            do {
                let ids = try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT c.union_id FROM record_search
                        JOIN cluster_members c ON c.source_id = record_search.rowid WHERE record_search MATCH ?
                        ORDER BY c.union_id LIMIT ?
                        """, arguments: [match, limit + 1])
                return ids.count > limit ? nil : ids
            } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                throw StoreError(.invalid, "the search cannot be run: \(error.message ?? "\(error)")", cause: error)
            }
        }
    }
}
