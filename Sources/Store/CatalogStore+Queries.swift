import Foundation
import GRDB

/// The catalogue's size, for `/v1/status`.
public struct CatalogCounts: Sendable, Equatable {
    public var reviewOpen: Int = 0
    public var sourceRecords: Int
    public var unionRecords: Int
    public var members: Int
    public var heldFiles: Int
    public var failedFiles: Int
}

/// A member's record as stored, and the union record it is in.
public struct SourceRecordView: Sendable {
    public var id: Int64
    public var member: String
    public var localID: String
    public var flavour: String
    public var originalEncoding: String
    public var status: String
    public var locked: Bool
    public var unionID: Int64?
    public var fileID: Int64?
    public var updatedAt: Int64
    public var record: [UInt8]
    /// The keys it was matched on, as ``MatchKey/encode(_:)`` wrote them.
    public var features: String?
    /// The decision that put it in its union record, as stored then; nil in a ``UnionRecordView``, which does
    /// not read it.
    public var placement: PlacementView?
}

/// Why a record is in its union record: the stored decision and its evidence.
public struct PlacementView: Sendable, Equatable {
    /// matched, new or must-link.
    public var decision: String
    public var score: Double?
    /// The record it was compared with (the master then), as MEMBER:LOCALID.
    public var comparedWith: String?
    public var ruleVersion: String?
    /// JSON: the per-field findings of a match, or what was compared for a new union record.
    public var evidence: String?
    public var decidedAt: Int64?
}

/// A union record: its state, master, where a merged-away id now points, and its source records.
public struct UnionRecordView: Sendable {
    public var id: Int64
    public var status: String
    public var masterID: Int64?
    public var redirectTo: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64
    public var sources: [SourceRecordView]
}

extension CatalogStore {
    public func counts() throws -> CatalogCounts {
        try writer.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT value FROM catalogue_totals WHERE name = 'active_source_records') AS sources,
                           (SELECT value FROM catalogue_totals WHERE name = 'active_union_records') AS unions,
                           (SELECT count(*) FROM members) AS members,
                           (SELECT count(*) FROM files WHERE state = 'held') AS held,
                           (SELECT count(*) FROM files WHERE state = 'failed') AS failed,
                           (SELECT count(*) FROM review_queue WHERE state = 'open') AS review
                    """)!
            return CatalogCounts(
                reviewOpen: row["review"], sourceRecords: row["sources"], unionRecords: row["unions"], members: row["members"],
                heldFiles: row["held"], failedFiles: row["failed"])
        }
    }

    /// A member's record by local id (already trimmed), whatever its status.
    public func sourceRecord(member: String, localID: String) throws -> SourceRecordView? {
        try writer.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: Self.sourceSelect + " WHERE s.member = ? AND s.local_id = ?"), arguments: [member, localID]
            ).map(Self.sourceView)
        }
    }

    /// Each active record of a member, by local id, with the union record it is in.
    public func unionIDs(member: String) throws -> [String: Int64] {
        try writer.read { db in
            var result: [String: Int64] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT s.local_id, c.union_id FROM source_records s JOIN cluster_members c ON c.source_id = s.id
                    WHERE s.member = ? AND s.status = 'active'
                    """, arguments: [member])
            while let row = try rows.next() { result[row[0]] = row[1] }
            return result
        }
    }

    /// The union records whose active source records carry `key` (an identifier, as the matcher blocks on
    /// it), found through the block index; at most `limit`, lowest id first.
    public func unionIDs(withKey key: MatchKey, limit: Int = 50) throws -> [Int64] {
        try writer.read { db in try Self.unionIDs(db, withKey: key, limit: limit) }
    }

    /// The union records carrying `key`, read in one transaction.
    public func unionRecords(withKey key: MatchKey, limit: Int = 50) throws -> [UnionRecordView] {
        try writer.read { db in try Self.unionIDs(db, withKey: key, limit: limit).compactMap { try Self.unionRecord(db, id: $0) } }
    }

    static func unionIDs(_ db: Database, withKey key: MatchKey, limit: Int) throws -> [Int64] {
        try Int64.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT DISTINCT bk.union_id FROM block_keys bk
                    JOIN source_records s ON s.id = bk.source_id AND s.status = 'active'
                    WHERE bk.hash = ? ORDER BY bk.union_id LIMIT ?
                    """), arguments: [key.blockHash, limit])
    }

    public func unionRecord(id: Int64) throws -> UnionRecordView? {
        try writer.read { db in try Self.unionRecord(db, id: id) }
    }

    /// A union record and who holds it, read in one transaction, so the holdings are those of the record shown.
    public func unionRecordWithHoldings(id: Int64) throws -> (record: UnionRecordView, holdings: [HoldingView])? {
        try writer.read { db in
            guard let record = try Self.unionRecord(db, id: id) else { return nil }
            return (record, try Self.holdings(db, unionID: id))
        }
    }

    static func unionRecord(_ db: Database, id: Int64) throws -> UnionRecordView? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, status, master_id, redirect_to, created_at, updated_at FROM union_records WHERE id = ?"),
                arguments: [id])
        else { return nil }
        // Cached statements: a lookup is compiled once per reader, not per request.
        let sources = try Row.fetchAll(db.cachedStatement(sql: Self.membersOfUnion), arguments: [id]).map(Self.sourceView)
        return UnionRecordView(
            id: row["id"], status: row["status"], masterID: row["master_id"], redirectTo: row["redirect_to"],
            createdAt: row["created_at"], updatedAt: row["updated_at"], sources: sources)
    }

    /// Every active union record, lowest id first, on one read transaction: an export of the catalogue at one
    /// moment while the writer goes on.
    public func forEachUnionRecord(_ body: (UnionRecordView) throws -> Void) throws {
        try writer.read { db in
            let unions = try Row.fetchCursor(
                db, sql: "SELECT id, status, master_id, redirect_to, created_at, updated_at FROM union_records WHERE status = 'active' ORDER BY id")
            let sources = try db.cachedStatement(sql: Self.membersOfUnion)
            while let row = try unions.next() {
                let id: Int64 = row["id"]
                let members = try Row.fetchAll(sources, arguments: [id]).map(Self.sourceView)
                try body(
                    UnionRecordView(
                        id: id, status: row["status"], masterID: row["master_id"], redirectTo: row["redirect_to"],
                        createdAt: row["created_at"], updatedAt: row["updated_at"], sources: members))
            }
        }
    }

    /// A member's active records as it sent them, in the order they were first stored, on one read transaction.
    public func forEachSourceRecord(member: String, _ body: (SourceRecordView) throws -> Void) throws {
        try writer.read { db in
            let rows = try Row.fetchCursor(
                db, sql: Self.sourceSelect + " WHERE s.member = ? AND s.status = 'active' ORDER BY s.id", arguments: [member])
            while let row = try rows.next() { try body(Self.sourceView(row)) }
        }
    }

    private static let sourceSelect = """
        SELECT s.id, s.member, s.local_id, s.flavour, s.original_encoding, s.status, s.locked, s.file_id, s.updated_at,
               s.record, c.union_id, s.features, c.decision, c.score, c.rule_version, c.evidence, c.decided_at,
               w.member AS compared_member, w.local_id AS compared_local_id
        FROM source_records s LEFT JOIN cluster_members c ON c.source_id = s.id
        LEFT JOIN source_records w ON w.id = c.compared_with
        """

    /// A union record's source records, without their placements: the union's answer does not show them, and
    /// they cost two more reads a member (its membership row, the record it was compared with); `/why` reads them
    /// with ``sourceRecord(member:localID:)``. The membership index alone names the members, in id order (a test
    /// checks the plan).
    static let membersOfUnion = """
        SELECT s.id, s.member, s.local_id, s.flavour, s.original_encoding, s.status, s.locked, s.file_id, s.updated_at,
               s.record, c.union_id, s.features
        FROM cluster_members c JOIN source_records s ON s.id = c.source_id
        WHERE c.union_id = ? ORDER BY c.source_id
        """

    private static func sourceView(_ row: Row) -> SourceRecordView {
        SourceRecordView(
            id: row["id"], member: row["member"], localID: row["local_id"], flavour: row["flavour"],
            originalEncoding: row["original_encoding"], status: row["status"], locked: row["locked"] as Int64 == 1,
            unionID: row["union_id"], fileID: row["file_id"], updatedAt: row["updated_at"],
            record: [UInt8](row["record"] as Data), features: row["features"],
            placement: (row["decision"] as String?).map { decision in
                PlacementView(
                    decision: decision, score: row["score"],
                    comparedWith: (row["compared_member"] as String?).map { "\($0):\(row["compared_local_id"] as String? ?? "")" },
                    ruleVersion: row["rule_version"], evidence: row["evidence"], decidedAt: row["decided_at"])
            })
    }
}

/// The file log summed up, for /metrics: files by state, and the records they carried by outcome.
public struct IngestTotals: Sendable, Equatable {
    public var files: [String: Int] = [:]
    public var records: [String: Int] = [:]
}

extension CatalogStore {
    public func ingestTotals() throws -> IngestTotals {
        try writer.read { db in
            var totals = IngestTotals()
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT state, count(*) AS files, sum(read) AS read, sum(added) AS added, sum(changed) AS changed,
                        sum(unchanged) AS unchanged, sum(deleted) AS deleted, sum(rejected) AS rejected
                    FROM files GROUP BY state
                    """)
            {
                totals.files[row["state"]] = row["files"]
                for outcome in ["read", "added", "changed", "unchanged", "deleted", "rejected"] {
                    totals.records[outcome, default: 0] += row[outcome] ?? 0
                }
            }
            return totals
        }
    }
}
