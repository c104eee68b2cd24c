import GRDB
import MARC

/// Writes one batch's holdings inside its transaction: each source (a bib's own holdings fields, or a holdings
/// record) replaces what an earlier file stored from it, and adds to what this file stored from it already (one
/// bib may come with several holdings records under one id). Holdings naming another member go to it only when
/// the submitter may submit for it; otherwise they are reported and left out.
final class HoldingsWriter {
    enum Outcome { case added, replaced, unchanged }

    let member: String
    let fileID: Int64
    let now: Int64
    /// Members by the upper-case form of their codes and institution codes: a holdings field naming one is
    /// that library's.
    private let members: [String: String]
    /// The members (upper-case codes) the submitter may submit holdings for.
    private let mayHoldFor: Set<String>
    private(set) var problems: [FileProblem] = []
    private let removePrevious: RawStatement
    private let removeAll: RawStatement
    private let nextSeq: RawStatement
    private let insert: RawStatement
    private let confirmSource: RawStatement
    private let logChange: RawStatement
    private let stored: RawStatement
    private let takeOver: RawStatement

    init(db: Database, member: String, fileID: Int64, now: Int64) throws {
        self.member = member
        self.fileID = fileID
        self.now = now
        var members: [String: String] = [:]
        var mayHoldFor: Set<String> = []
        for row in try Row.fetchAll(db, sql: "SELECT code, may_submit_for, institution_codes FROM members") {
            let code: String = row["code"]
            members[code.uppercased()] = code
            for alias in CatalogStore.codes(row["institution_codes"]) { members[alias.uppercased()] = code }
            if code == member { mayHoldFor = Set(CatalogStore.codes(row["may_submit_for"]).map { $0.uppercased() }) }
        }
        self.members = members
        self.mayHoldFor = mayHoldFor
        removePrevious = try RawStatement(db, Self.removePreviousSQL)
        removeAll = try RawStatement(db, "DELETE FROM holdings WHERE bib_member = ? AND source_kind = ? AND source_local_id = ?")
        nextSeq = try RawStatement(
            db, "SELECT coalesce(max(seq), 0) + 1 FROM holdings WHERE bib_member = ? AND source_kind = ? AND source_local_id = ?")
        insert = try RawStatement(
            db,
            """
            INSERT INTO holdings (holder, bib_member, bib_local_id, source_kind, source_local_id, seq, location, call_number,
                items, summary, file_id, received_at, confirmed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        logChange = try RawStatement(
            db,
            """
            INSERT INTO changes (at, kind, member, detail)
            VALUES (?, ?, ?, json_object('bib', ?, 'source_kind', ?, 'source', ?, 'holdings', ?))
            """)
        confirmSource = try RawStatement(
            db, "UPDATE holdings SET confirmed_at = ? WHERE bib_member = ? AND source_kind = ? AND source_local_id = ?")
        stored = try RawStatement(
            db,
            """
            SELECT holder, bib_local_id, location, call_number, items, summary, file_id IS ? FROM holdings
            WHERE bib_member = ? AND source_kind = ? AND source_local_id = ? ORDER BY seq
            """)
        takeOver = try RawStatement(
            db, "UPDATE holdings SET file_id = ?, confirmed_at = ? WHERE bib_member = ? AND source_kind = ? AND source_local_id = ?")
    }

    /// The index is named: without statistics SQLite would take `holdings_by_bib`, which carries `file_id` but
    /// narrows to the member only, and read all of a member's holdings for each record (a test checks the plan).
    static let removePreviousSQL = """
        DELETE FROM holdings INDEXED BY sqlite_autoindex_holdings_1
        WHERE bib_member = ? AND source_kind = ? AND source_local_id = ? AND file_id IS NOT ?
        """

    /// One stored holding, as compared with one read again.
    private struct StoredHolding: Equatable {
        var holder: String
        var bib: String
        var location: String?
        var callNumber: String?
        var items: Int64?
        var summary: String?
    }

    /// What an earlier file stored from this source, or nil when this file stored some of it already (a second
    /// holdings record under the same id adds to the first).
    private func storedRows(kind: String, source: String) throws -> [StoredHolding]? {
        stored.bind(1, fileID)
        stored.bind(2, member)
        stored.bind(3, kind)
        stored.bind(4, source)
        defer { stored.reset() }
        var rows: [StoredHolding] = []
        while try stored.step() {
            if stored.int64(6) == 1 { return nil }
            rows.append(
                StoredHolding(
                    holder: stored.text(0), bib: stored.text(1), location: stored.isNull(2) ? nil : stored.text(2),
                    callNumber: stored.isNull(3) ? nil : stored.text(3), items: stored.isNull(4) ? nil : stored.int64(4),
                    summary: stored.isNull(5) ? nil : stored.text(5)))
        }
        return rows
    }

    /// Stores `statements` as the holdings read from one source.
    /// The same holdings sent again are only confirmed and taken over by this file: no change is logged.
    func replace(kind: String, source: String, bib: String, _ statements: [HoldingStatement], record: Int) throws -> Outcome {
        let held = statements.compactMap { statement in
            holder(of: statement, record: record, source: source).map { (holder: $0, statement: statement) }
        }
        if let previous = try storedRows(kind: kind, source: source), !previous.isEmpty,
            previous == held.map({
                StoredHolding(
                    holder: $0.holder, bib: bib, location: $0.statement.location, callNumber: $0.statement.callNumber,
                    items: $0.statement.items.map(Int64.init), summary: $0.statement.summary)
            })
        {
            takeOver.bind(1, fileID)
            takeOver.bind(2, now)
            takeOver.bind(3, member)
            takeOver.bind(4, kind)
            takeOver.bind(5, source)
            try takeOver.run()
            return .unchanged
        }
        removePrevious.bind(1, member)
        removePrevious.bind(2, kind)
        removePrevious.bind(3, source)
        removePrevious.bind(4, fileID)
        try removePrevious.run()
        let replaced = removePrevious.changes > 0
        nextSeq.bind(1, member)
        nextSeq.bind(2, kind)
        nextSeq.bind(3, source)
        var seq = try nextSeq.step() ? nextSeq.int64(0) : 1
        nextSeq.reset()
        for (holder, statement) in held {
            insert.bind(1, holder)
            insert.bind(2, member)
            insert.bind(3, bib)
            insert.bind(4, kind)
            insert.bind(5, source)
            insert.bind(6, seq)
            insert.bind(7, statement.location)
            insert.bind(8, statement.callNumber)
            insert.bind(9, statement.items.map(Int64.init))
            insert.bind(10, statement.summary)
            insert.bind(11, fileID)
            insert.bind(12, now)
            insert.bind(13, now)
            try insert.run()
            seq += 1
        }
        if replaced || !held.isEmpty {
            try log(replaced ? "holdings-changed" : "holdings-added", bib: bib, kind: kind, source: source, count: held.count)
        }
        return replaced ? .replaced : .added
    }

    /// One change-log entry per source whose holdings changed, for members mirroring the catalogue.
    private func log(_ change: String, bib: String?, kind: String, source: String, count: Int) throws {
        logChange.bind(1, now)
        logChange.bind(2, change)
        logChange.bind(3, member)
        logChange.bind(4, bib)
        logChange.bind(5, kind)
        logChange.bind(6, source)
        logChange.bind(7, Int64(count))
        try logChange.run()
    }

    /// Marks the holdings read from one source as confirmed now: the member sent it again, unchanged.
    func confirm(kind: String, source: String) throws {
        confirmSource.bind(1, now)
        confirmSource.bind(2, member)
        confirmSource.bind(3, kind)
        confirmSource.bind(4, source)
        try confirmSource.run()
    }

    /// Removes the holdings read from one source; returns how many there were.
    func remove(kind: String, source: String) throws -> Int {
        removeAll.bind(1, member)
        removeAll.bind(2, kind)
        removeAll.bind(3, source)
        try removeAll.run()
        let removed = removeAll.changes
        if removed > 0 { try log("holdings-removed", bib: nil, kind: kind, source: source, count: removed) }
        return removed
    }

    /// The member a statement's holding belongs to: the submitter when it names no institution or one of the
    /// submitter's codes; the member it names when the submitter may submit for that member. Nil, with a problem
    /// reported, for any other library's holding.
    private func holder(of statement: HoldingStatement, record: Int, source: String) -> String? {
        guard let code = statement.institution?.trimmingSpaces, !code.isEmpty else { return member }
        let named = members[code.uppercased()]
        if named == member { return member }
        if let named, mayHoldFor.contains(named.uppercased()) { return named }
        let whose = named.map { "member \($0)'s" } ?? "not a member's code (a member's own codes are set with `calisd ctl members set CODE --institution-codes`)"
        problems.append(
            FileProblem(
                recordNumber: record, localID: source, severity: .warning,
                reason: "a holding naming institution \(code), \(whose): \(member) may not submit for it; ignored"))
        return nil
    }
}
