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

    public init(localID: String, flavour: String, originalEncoding: String, record: [UInt8], deleted: Bool = false) {
        self.localID = localID
        self.flavour = flavour
        self.originalEncoding = originalEncoding
        self.record = record
        self.deleted = deleted
    }
}

/// What one committed batch did.
public struct BatchCounts: Sendable, Equatable {
    public var added = 0
    public var changed = 0
    public var unchanged = 0
    public var deleted = 0
    public init() {}
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

    /// Records a claimed file and returns its id.
    public func beginFile(member: String, name: String, sha256: String, size: Int64, mode: String, now: Int64 = Self.now())
        throws -> Int64
    {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO files (member, name, sha256, size, mode, state, received_at)
                    VALUES (?, ?, ?, ?, ?, 'active', ?)
                    """, arguments: [member, name, sha256, size, mode, now])
            return db.lastInsertedRowID
        }
    }

    /// How many records of a file are committed: where a restart resumes.
    public func progress(ofFile id: Int64) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT progress FROM files WHERE id = ?", arguments: [id]) ?? 0
        }
    }

    /// Stores a batch of a member's records and moves the file's progress to `progress`, in one transaction:
    /// after a crash the catalogue and the progress agree, so resuming neither loses nor counts twice.
    /// A record whose bytes are unchanged changes nothing; a locked record is kept as it is.
    public func commitBatch(
        fileID: Int64, member: String, records: [IncomingRecord], progress: Int, now: Int64 = Self.now()
    ) throws -> BatchCounts {
        try writer.write { db in
            var counts = BatchCounts()
            let lookup = try db.cachedStatement(
                sql: "SELECT id, content_hash, status, locked FROM source_records WHERE member = ? AND local_id = ?")
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO source_records (member, local_id, flavour, original_encoding, record, content_hash, file_id, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let update = try db.cachedStatement(
                sql: """
                    UPDATE source_records SET flavour = ?, original_encoding = ?, record = ?, content_hash = ?,
                        status = 'active', file_id = ?, updated_at = ? WHERE id = ?
                    """)
            let delete = try db.cachedStatement(
                sql: "UPDATE source_records SET status = 'deleted', file_id = ?, updated_at = ? WHERE id = ?")
            let change = try db.cachedStatement(
                sql: "INSERT INTO changes (at, kind, source_id, member) VALUES (?, ?, ?, ?)")
            for incoming in records {
                let hash = Data(SHA256.hash(data: incoming.record))
                let existing = try Row.fetchOne(lookup, arguments: [member, incoming.localID])
                if incoming.deleted {
                    guard let existing, existing["status"] as String == "active" else { continue }
                    let id: Int64 = existing["id"]
                    try delete.execute(arguments: [fileID, now, id])
                    try change.execute(arguments: [now, "record-deleted", id, member])
                    counts.deleted += 1
                    continue
                }
                guard let existing else {
                    try insert.execute(arguments: [
                        member, incoming.localID, incoming.flavour, incoming.originalEncoding, Data(incoming.record),
                        hash, fileID, now,
                    ])
                    try change.execute(arguments: [now, "record-added", db.lastInsertedRowID, member])
                    counts.added += 1
                    continue
                }
                let id: Int64 = existing["id"]
                if existing["content_hash"] as Data == hash && existing["status"] as String == "active"
                    || existing["locked"] as Int64 == 1
                {
                    counts.unchanged += 1
                    continue
                }
                try update.execute(arguments: [incoming.flavour, incoming.originalEncoding, Data(incoming.record), hash, fileID, now, id])
                try change.execute(arguments: [now, "record-changed", id, member])
                counts.changed += 1
            }
            try db.execute(
                sql: """
                    UPDATE files SET progress = ?, read = read + ?, added = added + ?, changed = changed + ?,
                        unchanged = unchanged + ?, deleted = deleted + ? WHERE id = ?
                    """,
                arguments: [progress, records.count, counts.added, counts.changed, counts.unchanged, counts.deleted, fileID])
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
