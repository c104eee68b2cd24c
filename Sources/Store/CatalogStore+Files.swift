import Foundation
import GRDB

/// A submitted file as the catalogue records it, from its claim to its end.
public struct SubmittedFile: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case queued, active, done, held, rejected, failed }
    public enum Mode: String, Sendable, Codable {
        case incremental, full
        case deleteList = "delete-list"
    }

    public var id: Int64
    public var member: String
    public var name: String
    public var sha256: String
    public var size: Int64
    public var mode: Mode
    public var state: State
    public var spoolPath: String?
    public var heldPath: String?
    public var archivePath: String?
    public var progress: Int
    public var total: Int?
    public var read: Int
    public var added: Int
    public var changed: Int
    public var unchanged: Int
    public var deleted: Int
    public var rejected: Int
    public var withdrawn: Int
    public var approved: Bool
    public var reason: String?
    public var receivedAt: Int64
    public var finishedAt: Int64?

    init(row: Row) {
        id = row["id"]
        member = row["member"]
        name = row["name"]
        sha256 = row["sha256"]
        size = row["size"]
        mode = Mode(rawValue: row["mode"]) ?? .incremental
        state = State(rawValue: row["state"]) ?? .failed
        spoolPath = row["spool_path"]
        heldPath = row["held_path"]
        archivePath = row["archive_path"]
        progress = row["progress"]
        total = row["total"]
        read = row["read"]
        added = row["added"]
        changed = row["changed"]
        unchanged = row["unchanged"]
        deleted = row["deleted"]
        rejected = row["rejected"]
        withdrawn = row["withdrawn"]
        approved = row["approved"] as Int64 == 1
        reason = row["reason"]
        receivedAt = row["received_at"]
        finishedAt = row["finished_at"]
    }
}

extension CatalogStore {
    /// Records a claimed file and returns its id.
    public func beginFile(
        member: String, name: String, sha256: String, size: Int64, mode: String, spoolPath: String? = nil,
        state: SubmittedFile.State = .active, now: Int64 = Self.now()
    ) throws -> Int64 {
        try beginFiles(
            [NewFile(member: member, name: name, sha256: sha256, size: size, mode: mode, spoolPath: spoolPath)], state: state, now: now)[0]
    }

    /// A file to register with ``beginFiles(_:state:now:)``.
    public struct NewFile: Sendable {
        public var member, name, sha256, mode: String
        public var size: Int64
        public var spoolPath: String?
        public init(member: String, name: String, sha256: String, size: Int64, mode: String, spoolPath: String?) {
            self.member = member
            self.name = name
            self.sha256 = sha256
            self.size = size
            self.mode = mode
            self.spoolPath = spoolPath
        }
    }

    /// Registers several files in one transaction (a chunk of claims at once): their ids, in order.
    public func beginFiles(_ files: [NewFile], state: SubmittedFile.State, now: Int64 = Self.now()) throws -> [Int64] {
        try writer.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO files (member, name, sha256, size, mode, state, spool_path, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            return try files.map { file in
                try insert.execute(arguments: [file.member, file.name, file.sha256, file.size, file.mode, state.rawValue, file.spoolPath, now])
                return db.lastInsertedRowID
            }
        }
    }

    /// How many records of a file are committed: where a restart resumes.
    public func progress(ofFile id: Int64) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT progress FROM files WHERE id = ?", arguments: [id]) ?? 0
        }
    }

    public func file(id: Int64) throws -> SubmittedFile? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM files WHERE id = ?", arguments: [id]).map(SubmittedFile.init(row:))
        }
    }

    /// A member's files (or everyone's), newest first.
    public func files(member: String? = nil, state: SubmittedFile.State? = nil, limit: Int = 100) throws -> [SubmittedFile] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM files WHERE (?1 IS NULL OR member = ?1) AND (?2 IS NULL OR state = ?2)
                    ORDER BY id DESC LIMIT ?3
                    """, arguments: [member, state?.rawValue, limit]
            ).map(SubmittedFile.init(row:))
        }
    }

    public func fileCount(member: String) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM files WHERE member = ?", arguments: [member]) ?? 0
        }
    }

    /// Files claimed and not finished, oldest first: what start-up resumes.
    public func unfinishedFiles() throws -> [SubmittedFile] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM files WHERE state IN ('queued', 'active') ORDER BY id")
                .map(SubmittedFile.init(row:))
        }
    }

    /// Held files an admin rejected that were not archived and reported yet: the last run stopped before it did.
    public func rejectsNotEnded() throws -> [Int64] {
        try writer.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM files WHERE state = 'rejected' AND held_path IS NOT NULL ORDER BY id")
        }
    }

    /// Where a finished (or held) file of the member was recorded to go, if its spool name is `name`: a file the
    /// last run recorded and then stopped before moving it there.
    public func recordedDestination(member: String, spoolName name: String) throws -> (id: Int64, path: String)? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT id, spool_path FROM files WHERE member = ?1 AND state NOT IN ('queued', 'active')
                    AND substr(spool_path, -length(?2)) = ?2 ORDER BY id DESC LIMIT 1
                    """, arguments: [member, "/" + name]
            ).map { (id: $0["id"], path: $0["spool_path"]) }
        }
    }

    /// An earlier file of the member with the same bytes that was ingested: re-submitting it changes nothing.
    public func identicalFile(member: String, sha256: String, excluding id: Int64) throws -> Int64? {
        try writer.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT id FROM files WHERE member = ? AND sha256 = ? AND state = 'done' AND id <> ? ORDER BY id LIMIT 1",
                arguments: [member, sha256, id])
        }
    }

    /// Moves a file to another state, with the paths and reason that go with it.
    public func updateFile(
        id: Int64, state: SubmittedFile.State, reason: String? = nil, spoolPath: String? = nil, heldPath: String? = nil,
        archivePath: String? = nil, total: Int? = nil, finished: Bool = false, now: Int64 = Self.now()
    ) throws {
        try writer.write { db in
            try self.updateFileRow(
                db, id: id, state: state, reason: reason, spoolPath: spoolPath, heldPath: heldPath, archivePath: archivePath,
                total: total, finished: finished, now: now)
        }
    }

    func updateFileRow(
        _ db: Database, id: Int64, state: SubmittedFile.State, reason: String? = nil, spoolPath: String? = nil,
        heldPath: String? = nil, archivePath: String? = nil, total: Int? = nil, finished: Bool = false, now: Int64
    ) throws {
        try db.execute(
            sql: """
                UPDATE files SET state = ?, reason = coalesce(?, reason), spool_path = coalesce(?, spool_path),
                    held_path = ?, archive_path = coalesce(?, archive_path), total = coalesce(?, total),
                    finished_at = CASE WHEN ? THEN ? ELSE finished_at END
                WHERE id = ?
                """, arguments: [state.rawValue, reason, spoolPath, heldPath, archivePath, total, finished, now, id])
        // A full snapshot done is a `drop` member's refresh.
        if state == .done, finished,
            let member = try String.fetchOne(db, sql: "SELECT member FROM files WHERE id = ? AND mode = 'full'", arguments: [id])
        {
            try recordSnapshot(db, member: member, at: now)
        }
    }

    /// An admin's decision on a held full snapshot: approve queues it again to run with its withdrawals,
    /// reject ends it with nothing changed.
    /// - Throws: ``StoreError`` `notFound` for an unknown id, `invalid` when the file is not held.
    public func decideHeld(id: Int64, approve: Bool, now: Int64 = Self.now()) throws -> SubmittedFile {
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM files WHERE id = ?", arguments: [id]) else {
                throw StoreError(.notFound, "no file \(id)")
            }
            let file = SubmittedFile(row: row)
            guard file.state == .held else {
                throw StoreError(.invalid, "file \(id) is \(file.state.rawValue), not held: only a held file can be approved or rejected")
            }
            if approve {
                try db.execute(
                    sql: "UPDATE files SET state = 'queued', approved = 1, reason = 'approved by an admin' WHERE id = ?",
                    arguments: [id])
            } else {
                try db.execute(
                    sql: "UPDATE files SET state = 'rejected', reason = 'rejected by an admin', finished_at = ? WHERE id = ?",
                    arguments: [now, id])
            }
            return SubmittedFile(row: try Row.fetchOne(db, sql: "SELECT * FROM files WHERE id = ?", arguments: [id])!)
        }
    }

    /// Keeps the finished report.
    public func setReport(id: Int64, report: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE files SET report = ? WHERE id = ?", arguments: [report, id])
        }
    }

    public func report(ofFile id: Int64) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT report FROM files WHERE id = ?", arguments: [id]) }
    }

    /// Every problem recorded for a file, in record order.
    public func problems(ofFile id: Int64) throws -> [FileProblem] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT record_number, local_id, severity, reason, rejected FROM file_problems WHERE file_id = ? ORDER BY record_number, id",
                arguments: [id]
            ).map { row in
                FileProblem(
                    recordNumber: row["record_number"], localID: row["local_id"],
                    severity: FileProblem.Severity(rawValue: row["severity"]) ?? .error, reason: row["reason"],
                    rejected: (row["rejected"] as Data?).map { [UInt8]($0) })
            }
        }
    }

    /// The local ids of a member's active records: what a full snapshot is compared against.
    public func activeLocalIDs(member: String) throws -> Set<String> {
        try writer.read { db in
            try Set(String.fetchCursor(
                db, sql: "SELECT local_id FROM source_records WHERE member = ? AND status = 'active'", arguments: [member]))
        }
    }

    /// Withdraws a member's active records that the full snapshot `fileID` did not carry, `batchSize` at a time,
    /// each batch counted in the file in its own transaction: interrupted, it is simply run again. Then the
    /// holdings of holdings records (MFHD) the snapshot did not carry.
    /// - Returns: how many were withdrawn.
    public func withdrawAbsent(
        fileID: Int64, member: String, batchSize: Int = 1_000, matcher: any UnionMatcher = NoMatching(),
        now: Int64 = Self.now()
    ) throws -> Int {
        var total = 0
        while true {
            let count = try writer.write { db in
                let placement = try ClusterPlacement(db: db, matcher: matcher, now: now)
                let ids = try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM source_records WHERE member = ? AND status = 'active' AND locked = 0
                            AND confirmed_file IS NOT ? LIMIT ?
                        """, arguments: [member, fileID, batchSize])
                let withdraw = try RawStatement(
                    db, "UPDATE source_records SET status = 'withdrawn', file_id = ?, updated_at = ? WHERE id = ?")
                let change = try RawStatement(
                    db, "INSERT INTO changes (at, kind, source_id, member) VALUES (?, 'record-withdrawn', ?, ?)")
                // Deferred for the reason ingest defers it: placement between index writes makes FTS5 flush a segment a record.
                let searchIndex = try SearchIndexWriter(db: db, deferred: true)
                for id in ids {
                    withdraw.bind(1, fileID)
                    withdraw.bind(2, now)
                    withdraw.bind(3, id)
                    try withdraw.run()
                    try searchIndex.removeRecord(id)
                    change.bind(1, now)
                    change.bind(2, id)
                    change.bind(3, member)
                    try change.run()
                    try placement.remove(sourceID: id, member: member)
                }
                try searchIndex.flush()
                try db.execute(sql: "UPDATE files SET withdrawn = withdrawn + ? WHERE id = ?", arguments: [ids.count, fileID])
                return ids.count
            }
            total += count
            if count < batchSize { break }
        }
        try withdrawAbsentHoldings(fileID: fileID, member: member, iso20775: false, now: now)
        return total
    }

    /// Named, as in ``HoldingsWriter/removePreviousSQL``: `holdings_by_bib` would narrow to the member only.
    static let withdrawAbsentHoldingsSQL = """
        DELETE FROM holdings INDEXED BY sqlite_autoindex_holdings_1
        WHERE bib_member = ? AND source_kind = 'mfhd' AND (source_local_id LIKE 'iso20775:%') = ? AND file_id IS NOT ?
        """

    /// Holdings records (MFHDs, or ISO 20775 documents) of the member that the full snapshot `fileID` did not carry
    /// again: the member no longer reports those holdings.
    public func withdrawAbsentHoldings(fileID: Int64, member: String, iso20775: Bool, now: Int64 = Self.now()) throws {
        try writer.write { db in
            try db.execute(sql: Self.withdrawAbsentHoldingsSQL, arguments: [member, iso20775, fileID])
            let holdings = db.changesCount
            if holdings > 0 {
                try db.execute(
                    sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, 'holdings-withdrawn', ?, json_object('count', ?, 'file', ?))",
                    arguments: [now, member, holdings, fileID])
            }
        }
    }
}
