import GRDB

/// Places source records into union records inside one write transaction: keeps their match keys, asks the
/// matcher, moves cluster membership, keeps each union record's master, and logs every change.
struct ClusterPlacement {
    /// Bounds on the work one record may cause, whatever the data: a key shared by thousands of records
    /// (a publisher's series ISBN, say) must not turn one insert into thousands of reads.
    static let maximumCandidates = 20
    static let maximumCandidateRows = 2_000

    let db: Database
    let matcher: any UnionMatcher
    let now: Int64
    private let deleteKeys: Statement
    private let insertKey: Statement
    private let candidates: Statement
    private let clusterKeys: Statement
    private let unionOf: Statement
    private let join: Statement
    private let leave: Statement
    private let createUnion: Statement
    private let memberCount: Statement
    private let union: Statement
    private let setMaster: Statement
    private let deleteUnion: Statement
    private let change: Statement

    init(db: Database, matcher: any UnionMatcher, now: Int64) throws {
        self.db = db
        self.matcher = matcher
        self.now = now
        deleteKeys = try db.cachedStatement(sql: "DELETE FROM match_keys WHERE source_id = ?")
        insertKey = try db.cachedStatement(sql: "INSERT OR IGNORE INTO match_keys (kind, value, source_id) VALUES (?, ?, ?)")
        candidates = try db.cachedStatement(
            sql: """
                SELECT DISTINCT cm.union_id FROM match_keys mk JOIN cluster_members cm ON cm.source_id = mk.source_id
                WHERE mk.kind = ? AND mk.value = ? AND mk.source_id <> ? LIMIT \(Self.maximumCandidates)
                """)
        clusterKeys = try db.cachedStatement(
            sql: """
                SELECT cm.source_id, mk.kind, mk.value FROM cluster_members cm JOIN match_keys mk ON mk.source_id = cm.source_id
                WHERE cm.union_id = ? AND cm.source_id <> ? ORDER BY cm.source_id LIMIT \(Self.maximumCandidateRows)
                """)
        unionOf = try db.cachedStatement(sql: "SELECT union_id FROM cluster_members WHERE source_id = ?")
        join = try db.cachedStatement(
            sql: """
                INSERT INTO cluster_members (source_id, union_id) VALUES (?, ?)
                ON CONFLICT (source_id) DO UPDATE SET union_id = excluded.union_id
                """)
        leave = try db.cachedStatement(sql: "DELETE FROM cluster_members WHERE source_id = ?")
        createUnion = try db.cachedStatement(
            sql: "INSERT INTO union_records (master_id, created_at, updated_at) VALUES (?, ?, ?) RETURNING id")
        memberCount = try db.cachedStatement(sql: "SELECT count(*) FROM cluster_members WHERE union_id = ?")
        union = try db.cachedStatement(sql: "SELECT master_id FROM union_records WHERE id = ?")
        setMaster = try db.cachedStatement(
            sql: """
                UPDATE union_records SET updated_at = ?,
                    master_id = (SELECT min(source_id) FROM cluster_members WHERE union_id = ?) WHERE id = ?
                """)
        deleteUnion = try db.cachedStatement(
            sql: "UPDATE union_records SET status = 'deleted', master_id = NULL, updated_at = ? WHERE id = ?")
        change = try db.cachedStatement(
            sql: "INSERT INTO changes (at, kind, union_id, source_id, member) VALUES (?, ?, ?, ?, ?)")
    }

    /// Stores `keys` for the source record and puts it in the union record the matcher chooses.
    /// - Returns: the union record it is in.
    @discardableResult
    func place(sourceID: Int64, member: String, keys: [MatchKey], isNew: Bool) throws -> Int64 {
        if !isNew { try deleteKeys.execute(arguments: [sourceID]) }
        for key in keys { try insertKey.execute(arguments: [key.kind, key.value, sourceID]) }
        let previous = isNew ? nil : try Int64.fetchOne(unionOf, arguments: [sourceID])

        var found: [ClusterCandidate] = []
        var seen: Set<Int64> = []
        for key in matcher.blockingKeys(keys) where seen.count < Self.maximumCandidates {
            for unionID in try Int64.fetchAll(candidates, arguments: [key.kind, key.value, sourceID])
            where seen.insert(unionID).inserted {
                found.append(try candidate(unionID, excluding: sourceID))
            }
        }
        let chosen = matcher.choose(for: keys, among: found)
        if let chosen {
            if chosen == previous { return chosen }
            if let previous { try remove(sourceID: sourceID, from: previous, member: member) }
            try join.execute(arguments: [sourceID, chosen])
            try setMaster.execute(arguments: [now, chosen, chosen])
            try change.execute(arguments: [now, "union-joined", chosen, sourceID, member])
            return chosen
        }
        // No match: a record alone in its union record keeps it; one that leaves a cluster starts a new one.
        if let previous, try Int.fetchOne(memberCount, arguments: [previous]) == 1 { return previous }
        if let previous { try remove(sourceID: sourceID, from: previous, member: member) }
        guard let created = try Int64.fetchOne(createUnion, arguments: [sourceID, now, now]) else {
            throw StoreError(.invalid, "no union record id returned")
        }
        try join.execute(arguments: [sourceID, created])
        try change.execute(arguments: [now, "union-created", created, sourceID, member])
        return created
    }

    /// Takes a deleted or withdrawn source record out of its union record; an emptied union record is deleted.
    func remove(sourceID: Int64, member: String) throws {
        try deleteKeys.execute(arguments: [sourceID])
        guard let unionID = try Int64.fetchOne(unionOf, arguments: [sourceID]) else { return }
        try remove(sourceID: sourceID, from: unionID, member: member)
    }

    private func remove(sourceID: Int64, from unionID: Int64, member: String) throws {
        try leave.execute(arguments: [sourceID])
        if try Int.fetchOne(memberCount, arguments: [unionID]) == 0 {
            try deleteUnion.execute(arguments: [now, unionID])
            try change.execute(arguments: [now, "union-deleted", unionID, sourceID, member])
        } else {
            if try Int64.fetchOne(union, arguments: [unionID]) == sourceID {
                try setMaster.execute(arguments: [now, unionID, unionID])
            }
            try change.execute(arguments: [now, "union-left", unionID, sourceID, member])
        }
    }

    private func candidate(_ unionID: Int64, excluding sourceID: Int64) throws -> ClusterCandidate {
        var bySource: [(Int64, [MatchKey])] = []
        for row in try Row.fetchAll(clusterKeys, arguments: [unionID, sourceID]) {
            let source: Int64 = row[0]
            let key = MatchKey(row[1], row[2])
            if let last = bySource.last, last.0 == source {
                bySource[bySource.count - 1].1.append(key)
            } else {
                bySource.append((source, [key]))
            }
        }
        // Members with the same keys (the same book from many libraries) need comparing once.
        var seen: Set<[MatchKey]> = []
        let distinct = bySource.map { $0.1.sorted { ($0.kind, $0.value) < ($1.kind, $1.value) } }.filter { seen.insert($0).inserted }
        return ClusterCandidate(unionID: unionID, memberKeys: distinct)
    }
}
