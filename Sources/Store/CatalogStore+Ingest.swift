import Crypto
import Foundation
import GRDB

/// A member library, as the catalogue knows it.
public struct Member: Sendable, Equatable {
    public var code: String
    public var name: String
    public var status: String
}

/// One record of a submitted file, ready to store: the member's local id, the record as UTF-8 ISO 2709, and
/// what it was.
public struct IncomingRecord: Sendable {
    public var localID: String
    public var flavour: String
    public var originalEncoding: String
    public var record: [UInt8]
    /// Leader/05 `d`: the member deletes this record.
    public var deleted: Bool
    /// The normalised keys the union matcher works on.
    public var keys: [MatchKey]

    public init(
        localID: String, flavour: String, originalEncoding: String, record: [UInt8], deleted: Bool = false,
        keys: [MatchKey] = []
    ) {
        self.localID = localID
        self.flavour = flavour
        self.originalEncoding = originalEncoding
        self.record = record
        self.deleted = deleted
        self.keys = keys
    }
}

/// What one committed batch did.
public struct BatchCounts: Sendable, Equatable {
    public var added = 0
    public var changed = 0
    public var unchanged = 0
    public var deleted = 0
    public var rejected = 0
    public init() {}
}

/// A problem found in one record of a file: a rejection (the record is not stored; its bytes go back to the
/// member) or a warning on a stored record.
public struct FileProblem: Sendable, Equatable, Codable {
    public enum Severity: String, Sendable, Codable { case warning, error }
    public var recordNumber: Int
    public var localID: String?
    public var severity: Severity
    public var reason: String
    public var rejected: [UInt8]?

    public init(recordNumber: Int, localID: String?, severity: Severity, reason: String, rejected: [UInt8]? = nil) {
        self.recordNumber = recordNumber
        self.localID = localID
        self.severity = severity
        self.reason = reason
        self.rejected = rejected
    }
}

extension CatalogStore {
    /// Adds a member.
    /// - Throws: ``StoreError`` `conflict` when the code exists, `invalid` when the schema refuses the code.
    public func addMember(code: String, name: String, now: Int64 = Self.now()) throws -> Member {
        do {
            try writer.write { db in
                try db.execute(
                    sql: "INSERT INTO members (code, name, created_at) VALUES (?, ?, ?)", arguments: [code, name, now])
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw StoreError(.conflict, "member \(code) exists already", cause: error)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StoreError(.invalid, "member code \(code) is not 1-32 letters, digits, '_' or '-'", cause: error)
        }
        return Member(code: code, name: name, status: "active")
    }

    public func member(code: String) throws -> Member? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT code, name, status FROM members WHERE code = ?", arguments: [code])
                .map { Member(code: $0["code"], name: $0["name"], status: $0["status"]) }
        }
    }

    public func members() throws -> [Member] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT code, name, status FROM members ORDER BY code")
                .map { Member(code: $0["code"], name: $0["name"], status: $0["status"]) }
        }
    }

    /// Stores a batch of a member's records and moves the file's progress to `progress`, in one transaction:
    /// after a crash the catalogue, the file's counts, its problems and its progress agree, so resuming neither
    /// loses nor counts twice. A record whose bytes are unchanged changes nothing; a locked record is kept as it
    /// is. Every record the file carried, changed or not, is marked as confirmed by it (full snapshots).
    public func commitBatch(
        fileID: Int64, member: String, records: [IncomingRecord], problems: [FileProblem] = [], progress: Int,
        matcher: any UnionMatcher = NoMatching(), now: Int64 = Self.now()
    ) throws -> BatchCounts {
        try writer.write { db in
            var counts = BatchCounts()
            let placement = try ClusterPlacement(db: db, matcher: matcher, now: now)
            let lookup = try db.cachedStatement(
                sql: "SELECT id, content_hash, status, locked FROM source_records WHERE member = ? AND local_id = ?")
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO source_records (member, local_id, flavour, original_encoding, record, content_hash,
                        file_id, confirmed_file, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let update = try db.cachedStatement(
                sql: """
                    UPDATE source_records SET flavour = ?, original_encoding = ?, record = ?, content_hash = ?,
                        status = 'active', file_id = ?, confirmed_file = ?, updated_at = ? WHERE id = ?
                    """)
            let confirm = try db.cachedStatement(sql: "UPDATE source_records SET confirmed_file = ? WHERE id = ?")
            let delete = try db.cachedStatement(
                sql: "UPDATE source_records SET status = 'deleted', file_id = ?, updated_at = ? WHERE id = ?")
            let change = try db.cachedStatement(
                sql: "INSERT INTO changes (at, kind, source_id, member) VALUES (?, ?, ?, ?)")
            for incoming in records {
                let hash = Data(SHA256.hash(data: incoming.record))
                let existing = try Row.fetchOne(lookup, arguments: [member, incoming.localID])
                if incoming.deleted {
                    guard let existing, existing["status"] as String == "active" else {
                        counts.unchanged += 1
                        continue
                    }
                    let id: Int64 = existing["id"]
                    if existing["locked"] as Int64 == 1 {
                        counts.unchanged += 1
                        continue
                    }
                    try delete.execute(arguments: [fileID, now, id])
                    try change.execute(arguments: [now, "record-deleted", id, member])
                    try placement.remove(sourceID: id, member: member)
                    counts.deleted += 1
                    continue
                }
                guard let existing else {
                    try insert.execute(arguments: [
                        member, incoming.localID, incoming.flavour, incoming.originalEncoding, Data(incoming.record),
                        hash, fileID, fileID, now,
                    ])
                    let id = db.lastInsertedRowID
                    try change.execute(arguments: [now, "record-added", id, member])
                    try placement.place(sourceID: id, member: member, keys: incoming.keys, isNew: true)
                    counts.added += 1
                    continue
                }
                let id: Int64 = existing["id"]
                if existing["content_hash"] as Data == hash && existing["status"] as String == "active"
                    || existing["locked"] as Int64 == 1
                {
                    try confirm.execute(arguments: [fileID, id])
                    counts.unchanged += 1
                    continue
                }
                try update.execute(arguments: [
                    incoming.flavour, incoming.originalEncoding, Data(incoming.record), hash, fileID, fileID, now, id,
                ])
                try change.execute(arguments: [now, "record-changed", id, member])
                try placement.place(sourceID: id, member: member, keys: incoming.keys, isNew: false)
                counts.changed += 1
            }
            let problem = try db.cachedStatement(
                sql: """
                    INSERT INTO file_problems (file_id, record_number, local_id, severity, reason, rejected)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
            for item in problems {
                try problem.execute(arguments: [
                    fileID, item.recordNumber, item.localID, item.severity.rawValue, item.reason, item.rejected.map { Data($0) },
                ])
            }
            counts.rejected = problems.filter { $0.severity == .error }.count
            try db.execute(
                sql: """
                    UPDATE files SET progress = ?, read = read + ?, added = added + ?, changed = changed + ?,
                        unchanged = unchanged + ?, deleted = deleted + ?, rejected = rejected + ? WHERE id = ?
                    """,
                arguments: [
                    progress, records.count + counts.rejected, counts.added, counts.changed, counts.unchanged,
                    counts.deleted, counts.rejected, fileID,
                ])
            return counts
        }
    }

    /// How many active records a member has.
    public func activeRecordCount(member: String) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM source_records WHERE member = ? AND status = 'active'", arguments: [member]) ?? 0
        }
    }

    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
