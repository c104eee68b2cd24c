import Crypto
import Foundation
import GRDB

/// A member library, as the catalogue knows it.
public struct Member: Sendable, Equatable {
    public var code: String
    public var name: String
    public var status: String
    /// Among source records of equal quality, a higher priority makes the master.
    public var priority: Int = 0
    /// The members this one may submit holdings for (a provincial centre).
    public var maySubmitFor: [String] = []
    /// The institution codes its holdings fields name it by, besides its code.
    public var institutionCodes: [String] = []
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
    /// SHA-256 of `record`, computed where the record is made (the reading thread, not the writer's).
    public var contentHash: [UInt8]
    /// How good a master it would make, higher is better: the encoding level, then the number of fields.
    public var quality: Int
    /// The holdings it carries (852/866–868, 905).
    public var holdings: [HoldingStatement]
    /// For a holdings record (MFHD): the local id of the bib it belongs to. It is stored as holdings only.
    public var holdingsOf: String?
    /// What it is found by in search, tokenised.
    public var search: RecordSearchText?
    /// Its place in the file, for the report.
    public var recordNumber = 0

    public init(
        localID: String, flavour: String, originalEncoding: String, record: [UInt8], deleted: Bool = false,
        keys: [MatchKey] = [], quality: Int = 0, holdings: [HoldingStatement] = [], holdingsOf: String? = nil
    ) {
        self.localID = localID
        self.flavour = flavour
        self.originalEncoding = originalEncoding
        self.record = record
        self.deleted = deleted
        self.keys = keys
        self.quality = quality
        self.holdings = holdings
        self.holdingsOf = holdingsOf
        contentHash = Array(SHA256.hash(data: record))
    }
}

/// One holding as a record states it: an institution's location, call number, copies and summary.
public struct HoldingStatement: Sendable, Equatable {
    /// The institution code the field names (852 $a, 905 $a), if any.
    public var institution: String?
    public var location: String?
    public var callNumber: String?
    public var items: Int?
    public var summary: String?

    public init(
        institution: String? = nil, location: String? = nil, callNumber: String? = nil, items: Int? = nil, summary: String? = nil
    ) {
        self.institution = institution
        self.location = location
        self.callNumber = callNumber
        self.items = items
        self.summary = summary
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

/// One batch of a file's records, with the progress it takes the file to: what ``CatalogStore/commitBatches(_:matcher:now:)``
/// commits, several files' batches in one transaction.
public struct BatchCommit: Sendable {
    public var fileID: Int64
    public var member: String
    public var records: [IncomingRecord]
    public var problems: [FileProblem]
    public var progress: Int
    /// A full snapshot's rejected records, confirmed though not stored again.
    public var confirming: [String]
    /// Set on a file's first batch: the file is marked active first, with its total when it is known.
    public var activation: Activation?

    public struct Activation: Sendable {
        public var total: Int?
        public init(total: Int?) { self.total = total }
    }

    public init(
        fileID: Int64, member: String, records: [IncomingRecord], problems: [FileProblem] = [], progress: Int,
        confirming: [String] = [], activation: Activation? = nil
    ) {
        self.fileID = fileID
        self.member = member
        self.records = records
        self.problems = problems
        self.progress = progress
        self.confirming = confirming
        self.activation = activation
    }
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
            try Self.memberRow(db, code)
        }
    }

    /// Sets a member's priority as a source of masters and chooses again the master of every union record the
    /// member has a record in, in one transaction.
    /// - Returns: the member as it is now, and how many union records changed master.
    /// - Throws: ``StoreError`` `notFound` for an unknown member.
    public func setPriority(member code: String, to priority: Int, by actor: String, now: Int64 = Self.now()) throws
        -> (member: Member, mastersChanged: Int)
    {
        try writer.write { db in
            try db.execute(sql: "UPDATE members SET priority = ? WHERE code = ?", arguments: [priority, code])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "no member \(code)") }
            try db.execute(
                sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, 'member-priority', ?, json_object('priority', ?, 'by', ?))",
                arguments: [now, code, priority, actor])
            try db.execute(
                sql: """
                    UPDATE union_records SET updated_at = ?1, master_id = (\(ClusterPlacement.bestMember("union_records.id")))
                    WHERE id IN (SELECT cm.union_id FROM source_records s JOIN cluster_members cm ON cm.source_id = s.id
                                 WHERE s.member = ?2)
                      AND master_id IS NOT (\(ClusterPlacement.bestMember("union_records.id")))
                    """, arguments: [now, code])
            let changed = db.changesCount
            return (try Self.memberRow(db, code)!, changed)
        }
    }

    public func members() throws -> [Member] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT code, name, status, priority, may_submit_for, institution_codes FROM members ORDER BY code"
            ).map(Self.memberFromRow)
        }
    }

    /// Stores a batch of a member's records and moves the file's progress to `progress`, in one transaction:
    /// after a crash the catalogue, the file's counts, its problems and its progress agree, so resuming neither
    /// loses nor counts twice. A record whose bytes are unchanged changes nothing; a locked record is kept as it
    /// is. Every record the file carried, changed or not, is marked as confirmed by it (full snapshots), and so
    /// are the stored records named in `confirming` (a full snapshot's rejected records).
    public func commitBatch(
        fileID: Int64, member: String, records: [IncomingRecord], problems: [FileProblem] = [], progress: Int,
        confirming: [String] = [], matcher: any UnionMatcher = NoMatching(), now: Int64 = Self.now()
    ) throws -> BatchCounts {
        let batch = BatchCommit(
            fileID: fileID, member: member, records: records, problems: problems, progress: progress, confirming: confirming)
        return try writer.write { db in try Self.commit(db, batch, matcher: matcher, now: now) }
    }

    /// Commits batches of several files in one transaction, in order, each as ``commitBatch`` would: a
    /// CALIS-scale chunk is hundreds of files of about a thousand records, and a transaction per file wrote the
    /// same index pages to the log again and again. Either all are committed or none.
    public func commitBatches(_ batches: [BatchCommit], matcher: any UnionMatcher = NoMatching(), now: Int64 = Self.now())
        throws -> [BatchCounts]
    {
        try writer.write { db in
            try batches.map { batch in
                if let activation = batch.activation {
                    try self.updateFileRow(db, id: batch.fileID, state: .active, total: activation.total, now: now)
                }
                return try Self.commit(db, batch, matcher: matcher, now: now)
            }
        }
    }

    /// A member's stored version of a record: whether an incoming one changes it. Shared with `readAhead`.
    static let storedVersionSQL =
        "SELECT id, content_hash, status = 'active', locked FROM source_records WHERE member = ? AND local_id = ?"

    /// Whether a record the member sends again leaves its stored version as it is (the same content, still
    /// active; or locked by an admin), so that it is not placed again.
    static func leavesUnchanged(_ incoming: IncomingRecord, stored lookup: RawStatement) -> Bool {
        lookup.blobEquals(1, incoming.contentHash) && lookup.int64(2) == 1 || lookup.int64(3) == 1
    }

    private static func commit(_ db: Database, _ batch: BatchCommit, matcher: any UnionMatcher, now: Int64) throws -> BatchCounts {
        let (fileID, member, records, problems, progress, confirming) =
            (batch.fileID, batch.member, batch.records, batch.problems, batch.progress, batch.confirming)
        var counts = BatchCounts()
        let placement = try ClusterPlacement(db: db, matcher: matcher, now: now)
        let lookup = try RawStatement(db, Self.storedVersionSQL)
        let insert = try RawStatement(
            db,
            """
            INSERT INTO source_records (member, local_id, flavour, original_encoding, record, content_hash,
                file_id, confirmed_file, updated_at, features, quality)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let update = try RawStatement(
            db,
            """
            UPDATE source_records SET flavour = ?, original_encoding = ?, record = ?, content_hash = ?,
                status = 'active', file_id = ?, confirmed_file = ?, updated_at = ?, features = ?, quality = ?
            WHERE id = ?
            """)
        let confirm = try RawStatement(db, "UPDATE source_records SET confirmed_file = ? WHERE id = ?")
        let delete = try RawStatement(
            db, "UPDATE source_records SET status = 'deleted', file_id = ?, updated_at = ? WHERE id = ?")
        let change = try RawStatement(db, "INSERT INTO changes (at, kind, source_id, member) VALUES (?, ?, ?, ?)")
        let holdings = try HoldingsWriter(db: db, member: member, fileID: fileID, now: now)
        let searchIndex = try SearchIndexWriter(db: db, deferred: true)
        /// A record's version, in the column order the insert and the update share: flavour, original encoding,
        /// record, content hash, file, confirming file, updated at, features, quality.
        func bindVersion(_ statement: RawStatement, from first: Int32, _ incoming: IncomingRecord) {
            statement.bind(first, incoming.flavour)
            statement.bind(first + 1, incoming.originalEncoding)
            statement.bind(first + 2, blob: incoming.record)
            statement.bind(first + 3, blob: incoming.contentHash)
            statement.bind(first + 4, fileID)
            statement.bind(first + 5, fileID)
            statement.bind(first + 6, now)
            statement.bind(first + 7, MatchKey.encode(incoming.keys))
            statement.bind(first + 8, Int64(incoming.quality))
        }
        func log(_ kind: String, _ id: Int64) throws {
            change.bind(1, now)
            change.bind(2, kind)
            change.bind(3, id)
            change.bind(4, member)
            try change.run()
        }
        for incoming in records {
            if let bib = incoming.holdingsOf {
                // A holdings record: only its holdings are kept, on the member's bib it names.
                if incoming.deleted {
                    if try holdings.remove(kind: "mfhd", source: incoming.localID) > 0 { counts.deleted += 1 } else { counts.unchanged += 1 }
                } else {
                    switch try holdings.replace(kind: "mfhd", source: incoming.localID, bib: bib, incoming.holdings, record: incoming.recordNumber) {
                    case .added: counts.added += 1
                    case .replaced: counts.changed += 1
                    case .unchanged: counts.unchanged += 1
                    }
                }
                continue
            }
            lookup.bind(1, member)
            lookup.bind(2, incoming.localID)
            var existing: (id: Int64, unchanged: Bool, active: Bool, locked: Bool)?
            if try lookup.step() {
                existing = (lookup.int64(0), Self.leavesUnchanged(incoming, stored: lookup), lookup.int64(2) == 1, lookup.int64(3) == 1)
            }
            lookup.reset()
            if incoming.deleted {
                guard let existing, existing.active, !existing.locked else {
                    counts.unchanged += 1
                    continue
                }
                delete.bind(1, fileID)
                delete.bind(2, now)
                delete.bind(3, existing.id)
                try delete.run()
                try log("record-deleted", existing.id)
                try searchIndex.removeRecord(existing.id)
                try placement.remove(sourceID: existing.id, member: member)
                _ = try holdings.remove(kind: "bib", source: incoming.localID)
                counts.deleted += 1
                continue
            }
            guard let existing else {
                insert.bind(1, member)
                insert.bind(2, incoming.localID)
                bindVersion(insert, from: 3, incoming)
                try insert.run()
                let id = insert.lastInsertedRowID
                try log("record-added", id)
                try searchIndex.set(id, incoming.search)
                try placement.place(sourceID: id, member: member, keys: incoming.keys, isNew: true)
                if !incoming.holdings.isEmpty {
                    _ = try holdings.replace(kind: "bib", source: incoming.localID, bib: incoming.localID, incoming.holdings, record: incoming.recordNumber)
                }
                counts.added += 1
                continue
            }
            if existing.unchanged {
                confirm.bind(1, fileID)
                confirm.bind(2, existing.id)
                try confirm.run()
                if !incoming.holdings.isEmpty { try holdings.confirm(kind: "bib", source: incoming.localID) }
                counts.unchanged += 1
                continue
            }
            bindVersion(update, from: 1, incoming)
            update.bind(10, existing.id)
            try update.run()
            try log("record-changed", existing.id)
            try searchIndex.set(existing.id, incoming.search)
            try placement.place(sourceID: existing.id, member: member, keys: incoming.keys, isNew: false)
            _ = try holdings.replace(kind: "bib", source: incoming.localID, bib: incoming.localID, incoming.holdings, record: incoming.recordNumber)
            counts.changed += 1
        }
        // Records a full snapshot carried but that were rejected: the stored version stays, not withdrawn.
        let confirmByLocalID = try RawStatement(
            db, "UPDATE source_records SET confirmed_file = ? WHERE member = ? AND local_id = ?")
        for localID in confirming {
            confirmByLocalID.bind(1, fileID)
            confirmByLocalID.bind(2, member)
            confirmByLocalID.bind(3, localID)
            try confirmByLocalID.run()
        }
        let problem = try db.cachedStatement(
            sql: """
                INSERT INTO file_problems (file_id, record_number, local_id, severity, reason, rejected)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        for item in problems + holdings.problems {
            try problem.execute(arguments: [
                fileID, item.recordNumber, item.localID, item.severity.rawValue, item.reason, item.rejected.map { Data($0) },
            ])
        }
        try searchIndex.flush()
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

    /// How many active records a member has.
    public func activeRecordCount(member: String) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM source_records WHERE member = ? AND status = 'active'", arguments: [member]) ?? 0
        }
    }

    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
