import Foundation
import GRDB

/// One holding as the catalogue shows it, with where it came from.
public struct HoldingView: Sendable, Equatable {
    /// The member that holds it.
    public var holder: String
    public var location: String?
    public var callNumber: String?
    public var items: Int?
    public var summary: String?
    /// The member's bib it hangs on, and the union record that bib is in.
    public var bibMember: String
    public var bibLocalID: String
    public var unionID: Int64?
    /// Where it was read: `bib` (the bib's own fields), `mfhd` (a holdings record, by its 001), or `record` (a bib
    /// with no holdings fields: held by its member, nothing more known).
    public var sourceKind: String
    public var sourceLocalID: String
    public var fileID: Int64?
    public var receivedAt: Int64
    /// When its member last sent it, changed or not.
    public var confirmedAt: Int64
}

extension CatalogStore {
    /// Every holding of a union record's active source records; a record without holdings fields counts as
    /// held by its member.
    public func holdings(unionID: Int64) throws -> [HoldingView] {
        try writer.read { db in try Self.holdings(db, unionID: unionID) }
    }

    static func holdings(_ db: Database, unionID: Int64) throws -> [HoldingView] {
        let explicit = try Row.fetchAll(db.cachedStatement(sql: Self.holdingsOfUnion), arguments: [unionID]).map(Self.holdingView)
        let implicit = try Row.fetchAll(db.cachedStatement(sql: Self.heldByMembersOfUnion), arguments: [unionID]).map(Self.holdingView)
        return (explicit + implicit).sorted { ($0.holder, $0.sourceKind == "record" ? 1 : 0) < ($1.holder, $1.sourceKind == "record" ? 1 : 0) }
    }

    /// A page of a member's holdings in a stable order: the holdings it was given (by id), then its records
    /// without holdings fields (by record id). `after` is the cursor the previous page ended on.
    public func holdings(holder: String, after cursor: HoldingsCursor?, limit: Int) throws -> (holdings: [HoldingView], next: HoldingsCursor?) {
        try writer.read { db in
            var page: [HoldingView] = []
            var next: HoldingsCursor?
            if cursor == nil || cursor?.implicit == false {
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT h.id AS cursor, h.holder, h.location, h.call_number, h.items, h.summary, h.bib_member,
                            h.bib_local_id, cm.union_id, h.source_kind, h.source_local_id, h.file_id, h.received_at,
                            coalesce(h.confirmed_at, h.received_at) AS confirmed_at
                        FROM holdings h
                        LEFT JOIN source_records s ON s.member = h.bib_member AND s.local_id = h.bib_local_id AND s.status = 'active'
                        LEFT JOIN cluster_members cm ON cm.source_id = s.id
                        WHERE h.holder = ? AND h.id > ? ORDER BY h.id LIMIT ?
                        """, arguments: [holder, cursor?.after ?? 0, limit + 1])
                page = rows.prefix(limit).map(Self.holdingView)
                if rows.count > limit { return (page, HoldingsCursor(implicit: false, after: rows[limit - 1]["cursor"])) }
            }
            let remaining = limit - page.count
            guard remaining > 0 else { return (page, HoldingsCursor(implicit: true, after: 0)) }
            let rows = try Row.fetchAll(
                db,
                sql: Self.heldByMember + " WHERE s.member = ? AND s.id > ? AND " + Self.withoutHoldingsFields + " ORDER BY s.id LIMIT ?",
                arguments: [holder, cursor?.implicit == true ? cursor!.after : 0, remaining + 1])
            page += rows.prefix(remaining).map(Self.holdingView)
            if rows.count > remaining { next = HoldingsCursor(implicit: true, after: rows[remaining - 1]["cursor"]) }
            return (page, next)
        }
    }

    /// The holdings of a union record's active members. `holdings_by_bib` carries every column read here, so no
    /// holdings row is read (a test checks the plan).
    static let holdingsOfUnion = """
        SELECT h.holder, h.location, h.call_number, h.items, h.summary, h.bib_member, h.bib_local_id,
            cm.union_id, h.source_kind, h.source_local_id, h.file_id, h.received_at,
            coalesce(h.confirmed_at, h.received_at) AS confirmed_at
        FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id AND s.status = 'active'
        JOIN holdings h ON h.bib_member = s.member AND h.bib_local_id = s.local_id
        WHERE cm.union_id = ? ORDER BY h.holder, h.id
        """

    static let heldByMembersOfUnion = heldByMember + " WHERE cm.union_id = ? AND " + withoutHoldingsFields + " ORDER BY s.member, s.id"

    /// Active records as holdings of their own member, with nothing more known; `cursor` is the record's id.
    private static let heldByMember = """
        SELECT s.id AS cursor, s.member AS holder, NULL AS location, NULL AS call_number, NULL AS items, NULL AS summary,
            s.member AS bib_member, s.local_id AS bib_local_id, cm.union_id, 'record' AS source_kind,
            s.local_id AS source_local_id, s.file_id, s.updated_at AS received_at,
            coalesce(f.received_at, s.updated_at) AS confirmed_at
        FROM source_records s JOIN cluster_members cm ON cm.source_id = s.id AND s.status = 'active'
        LEFT JOIN files f ON f.id = s.confirmed_file
        """

    /// A record that carried no holdings fields and has no holdings record.
    private static let withoutHoldingsFields =
        "NOT EXISTS (SELECT 1 FROM holdings h WHERE h.bib_member = s.member AND h.bib_local_id = s.local_id)"

    private static func holdingView(_ row: Row) -> HoldingView {
        HoldingView(
            holder: row["holder"], location: row["location"], callNumber: row["call_number"],
            items: (row["items"] as Int64?).map(Int.init), summary: row["summary"], bibMember: row["bib_member"],
            bibLocalID: row["bib_local_id"], unionID: row["union_id"], sourceKind: row["source_kind"],
            sourceLocalID: row["source_local_id"], fileID: row["file_id"], receivedAt: row["received_at"],
            confirmedAt: row["confirmed_at"])
    }

    /// A member sent `earlier` again, byte for byte: what it carried is confirmed by `fileID` — its records and
    /// their holdings, so none of it turns stale.
    public func confirmAgain(member: String, earlier: Int64, by fileID: Int64, now: Int64 = Self.now()) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE holdings SET confirmed_at = ? WHERE bib_member = ? AND (file_id = ? OR (source_kind = 'bib' AND
                        source_local_id IN (SELECT local_id FROM source_records WHERE member = ? AND confirmed_file = ?)))
                    """, arguments: [now, member, earlier, member, earlier])
            try db.execute(
                sql: "UPDATE source_records SET confirmed_file = ? WHERE member = ? AND confirmed_file = ?",
                arguments: [fileID, member, earlier])
        }
    }

    /// The holdings records (MFHD, by 001) a member's holdings were read from: what a full snapshot must carry
    /// again or withdraw.
    /// The local ids of a member's holdings records: MFHDs, or (`iso20775`) ISO 20775 documents. A full snapshot
    /// of one kind is compared with its own kind only: bibs with MFHDs in one file, ISO 20775 holdings in another.
    public func holdingsRecordIDs(member: String, iso20775: Bool = false) throws -> Set<String> {
        try writer.read { db in
            Set(try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT source_local_id FROM holdings
                    WHERE bib_member = ? AND source_kind = 'mfhd' AND (source_local_id LIKE 'iso20775:%') = ?
                    """,
                arguments: [member, iso20775]))
        }
    }

    /// The local id an ISO 20775 `<holdings>` document is stored under: the bib it names, marked as such.
    public static func iso20775SourceID(bibliographicID: String) -> String { "iso20775:" + bibliographicID }

    /// Sets who a member's holdings fields may name: the members it may submit holdings for (a provincial
    /// centre; each must be a member) and its own institution codes. Nil leaves a list as it is.
    public func setHoldingsCodes(
        member code: String, maySubmitFor: [String]?, institutionCodes: [String]?, by actor: String, now: Int64 = Self.now()
    ) throws -> Member {
        try writer.write { db in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM members WHERE code = ?", arguments: [code]) == 1 else {
                throw StoreError(.notFound, "no member \(code)")
            }
            if let maySubmitFor {
                for other in maySubmitFor where try Int.fetchOne(db, sql: "SELECT count(*) FROM members WHERE code = ?", arguments: [other]) == 0 {
                    throw StoreError(.notFound, "no member \(other)")
                }
                try db.execute(sql: "UPDATE members SET may_submit_for = ? WHERE code = ?", arguments: [maySubmitFor.joined(separator: ","), code])
            }
            if let institutionCodes {
                try db.execute(
                    sql: "UPDATE members SET institution_codes = ? WHERE code = ?", arguments: [institutionCodes.joined(separator: ","), code])
            }
            try db.execute(
                sql: """
                    INSERT INTO changes (at, kind, member, detail)
                    VALUES (?, 'member-holdings-codes', ?, json_object('may_submit_for', ?, 'institution_codes', ?, 'by', ?))
                    """,
                arguments: [now, code, maySubmitFor?.joined(separator: ","), institutionCodes?.joined(separator: ","), actor])
            return try Self.memberRow(db, code)!
        }
    }

    static func memberRow(_ db: Database, _ code: String) throws -> Member? {
        try Row.fetchOne(
            db, sql: "SELECT code, name, status, priority, may_submit_for, institution_codes FROM members WHERE code = ?", arguments: [code]
        ).map(memberFromRow)
    }

    static func memberFromRow(_ row: Row) -> Member {
        Member(
            code: row["code"], name: row["name"], status: row["status"], priority: row["priority"],
            maySubmitFor: codes(row["may_submit_for"]), institutionCodes: codes(row["institution_codes"]))
    }

    static func codes(_ list: String?) -> [String] {
        (list ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
    }
}

/// Where a page of a member's holdings ended: opaque to clients.
public struct HoldingsCursor: Sendable, Equatable {
    public var implicit: Bool
    public var after: Int64

    public init(implicit: Bool, after: Int64) {
        self.implicit = implicit
        self.after = after
    }

    public var token: String { Data("\(implicit ? "r" : "h"):\(after)".utf8).base64EncodedString() }

    public init?(token: String) {
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, ["h", "r"].contains(parts[0]), let after = Int64(parts[1]), after >= 0 else { return nil }
        self.init(implicit: parts[0] == "r", after: after)
    }
}
