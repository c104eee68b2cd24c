import GRDB

/// Places source records into union records inside one write transaction: keeps their match keys, asks the
/// matcher, moves cluster membership, keeps each union record's master, and logs every change.
struct ClusterPlacement {
    /// Bounds on the work one record may cause, whatever the data: a key shared by thousands of records
    /// (a publisher's series ISBN, say) must not turn one insert into thousands of reads.
    static let maximumCandidates = 20
    static let maximumCandidateMembers = 200

    /// The statements that read a record's candidates, shared with `readAhead`, which must read the same pages.
    static let candidatesSQL = "SELECT union_id, conflict_sketch FROM block_keys WHERE hash = ?"
    static let candidateMembersSQL = """
        SELECT s.features, s.id = u.master_id, s.id FROM cluster_members cm
        JOIN source_records s ON s.id = cm.source_id JOIN union_records u ON u.id = cm.union_id
        WHERE cm.union_id = ? AND cm.source_id <> ? LIMIT \(maximumCandidateMembers)
        """
    static let candidateMasterSQL =
        "SELECT s.id, s.features FROM union_records u JOIN source_records s ON s.id = u.master_id WHERE u.id = ?"
    static let unionOfSQL = "SELECT union_id FROM cluster_members WHERE source_id = ?"

    /// A union record a block key's rows name.
    struct FoundUnion: Equatable {
        var id: Int64
        /// One of the rows' records conflicts with the record placed, as their sketches show: a conflict with any
        /// one record keeps it out, so nothing more of the union record need be read.
        var sketchRulesOut: Bool
    }

    /// The first `maximumCandidates` distinct union records a block key's rows name, in the index's order.
    /// - Parameters:
    ///   - candidates: a statement of ``candidatesSQL``.
    ///   - sketch: the conflict sketch of the record placed.
    static func unions(
        foundBy hash: Int64, _ candidates: RawStatement, sketch: Int64?, matcher: any UnionMatcher
    ) throws -> [FoundUnion] {
        candidates.bind(1, hash)
        defer { candidates.reset() }
        var unions: [FoundUnion] = []
        while unions.count < maximumCandidates, try candidates.step() {
            let unionID = candidates.int64(0)
            // Rows written before sketches were kept have none; their union record is read as before.
            let conflicts = sketch.map { !candidates.isNull(1) && matcher.sketchesConflict($0, candidates.int64(1)) } ?? false
            if let index = unions.firstIndex(where: { $0.id == unionID }) {
                if conflicts { unions[index].sketchRulesOut = true }
            } else {
                unions.append(FoundUnion(id: unionID, sketchRulesOut: conflicts))
            }
        }
        return unions
    }

    let matcher: any UnionMatcher
    let now: Int64
    private let deleteKeys: RawStatement
    private let insertKey: RawStatement
    private let candidates: RawStatement
    private let clusterKeys: RawStatement
    private let masterKeys: RawStatement
    private let unionOf: RawStatement
    private let join: RawStatement
    private let leave: RawStatement
    private let createUnion: RawStatement
    private let memberCount: RawStatement
    private let master: RawStatement
    private let setMaster: RawStatement
    private let deleteUnion: RawStatement
    private let mergeUnion: RawStatement
    private let change: RawStatement
    private let overrides: RawStatement
    private let queueReview: RawStatement
    private let clusterMembers: RawStatement
    private let allClusterKeys: RawStatement
    /// Most catalogues have few overrides; a batch checks once whether there are any to look up.
    private let hasOverrides: Bool

    init(db: Database, matcher: any UnionMatcher, now: Int64) throws {
        self.matcher = matcher
        self.now = now
        deleteKeys = try RawStatement(db, "DELETE FROM block_keys WHERE source_id = ?")
        insertKey = try RawStatement(
            db, "INSERT OR IGNORE INTO block_keys (hash, source_id, union_id, conflict_sketch) VALUES (?, ?, ?, ?)")
        // Not DISTINCT: SQLite would build a temporary b-tree on every call. The rows come in the same order, and
        // `place` keeps the first `maximumCandidates` distinct union records and stops reading, as DISTINCT with
        // that LIMIT would. The record's own keys are not there: they are stored once it is placed.
        candidates = try RawStatement(db, Self.candidatesSQL)
        clusterKeys = try RawStatement(db, Self.candidateMembersSQL)
        masterKeys = try RawStatement(db, Self.candidateMasterSQL)
        unionOf = try RawStatement(db, Self.unionOfSQL)
        join = try RawStatement(
            db,
            """
            INSERT INTO cluster_members (source_id, union_id, decision, score, compared_with, rule_version, evidence, decided_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (source_id) DO UPDATE SET union_id = excluded.union_id, decision = excluded.decision,
                score = excluded.score, compared_with = excluded.compared_with, rule_version = excluded.rule_version,
                evidence = excluded.evidence, decided_at = excluded.decided_at
            """)
        leave = try RawStatement(db, "DELETE FROM cluster_members WHERE source_id = ?")
        createUnion = try RawStatement(
            db, "INSERT INTO union_records (master_id, created_at, updated_at) VALUES (?, ?, ?)")
        memberCount = try RawStatement(db, "SELECT count(*) FROM cluster_members WHERE union_id = ?")
        master = try RawStatement(db, "SELECT master_id FROM union_records WHERE id = ?")
        setMaster = try RawStatement(
            db,
            """
            UPDATE union_records SET updated_at = ?, master_id = (\(Self.bestMember("?"))) WHERE id = ?
            """)
        deleteUnion = try RawStatement(
            db, "UPDATE union_records SET status = 'deleted', master_id = NULL, updated_at = ? WHERE id = ?")
        mergeUnion = try RawStatement(
            db, "UPDATE union_records SET status = 'merged', redirect_to = ?, master_id = NULL, updated_at = ? WHERE id = ?")
        change = try RawStatement(db, "INSERT INTO changes (at, kind, union_id, source_id, member) VALUES (?, ?, ?, ?, ?)")
        queueReview = try RawStatement(
            db,
            """
            INSERT INTO review_queue (source_id, union_id, score, rule_version, created_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (source_id, union_id) DO NOTHING
            """)
        clusterMembers = try RawStatement(
            db,
            """
            SELECT s.id, s.member, s.features FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id
            WHERE cm.union_id = ? ORDER BY s.id LIMIT \(Self.maximumCandidateMembers)
            """)
        allClusterKeys = try RawStatement(
            db,
            "SELECT s.id, s.features FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id WHERE cm.union_id = ?")
        hasOverrides = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM link_overrides)") ?? true
        overrides = try RawStatement(
            db,
            """
            SELECT o.kind, cm.union_id FROM link_overrides o
            JOIN cluster_members cm ON cm.source_id = CASE WHEN o.a = ?1 THEN o.b ELSE o.a END
            WHERE o.a = ?1 OR o.b = ?1
            """)
    }

    /// Stores `keys` for the source record and puts it in the union record the matcher chooses.
    /// - Returns: the union record it is in.
    /// - Parameter revalidating: set when the record is placed again because its cluster's evidence went; its
    ///   cluster is then not checked again from here.
    @discardableResult
    func place(sourceID: Int64, member: String, keys: [MatchKey], isNew: Bool, revalidating: Bool = false) throws -> Int64 {
        if !isNew { try dropKeys(of: sourceID) }
        let blocking = matcher.blockingKeys(keys)
        let hashes = blocking.map(\.blockHash)
        let sketch = matcher.conflictSketch(keys)
        var unionsByHash: [Int64: [Int64]] = [:]
        let unionID = try decideMembership(
            sourceID: sourceID, member: member, keys: keys, sketch: sketch, blocking: zip(blocking, hashes), isNew: isNew,
            revalidating: revalidating, unionsByHash: &unionsByHash)
        // Each key names the union record, so a later record's candidates are one range of the index. A union
        // record needs one row a key: a new copy that joins through keys the index already gives it writes none
        // (about half of a catalogue's rows; `dropKeys` has the others write theirs when the row's record changes).
        for hash in hashes {
            if isNew && unionsByHash[hash]?.contains(unionID) == true { continue }
            insertKey.bind(1, hash)
            insertKey.bind(2, sourceID)
            insertKey.bind(3, unionID)
            insertKey.bind(4, sketch)
            try insertKey.run()
        }
        return unionID
    }

    /// Decides and applies the record's membership; its block keys are stored by `place` afterwards.
    /// - Parameter unionsByHash: the union records each block key's rows named, as far as they were read.
    private func decideMembership(
        sourceID: Int64, member: String, keys: [MatchKey], sketch: Int64?, blocking: Zip2Sequence<[MatchKey], [Int64]>, isNew: Bool,
        revalidating: Bool, unionsByHash: inout [Int64: [Int64]]
    ) throws -> Int64 {
        let previous = isNew ? nil : try union(of: sourceID)

        var found: [ClusterCandidate] = []
        var seen: Set<Int64> = []
        var ruledOut = 0
        let fallback = matcher.fallbackKinds
        for (key, hash) in blocking where seen.count < Self.maximumCandidates {
            if fallback.contains(key.kind) && !found.isEmpty { continue }
            let unions = try Self.unions(foundBy: hash, candidates, sketch: sketch, matcher: matcher)
            unionsByHash[hash] = unions.map(\.id)
            for union in unions where seen.insert(union.id).inserted {
                // Most candidates of a large catalogue share only a common title or author with the record; a
                // conflict with the record that found it, or with their master, settles them without reading
                // every member's row.
                if try union.sketchRulesOut || masterRulesOut(union.id, keys: keys, excluding: sourceID) {
                    ruledOut += 1
                    continue
                }
                found.append(try candidate(union.id, excluding: sourceID))
            }
        }
        // An admin's word comes before any rule: never with a cannot-link partner, always with a must-link one.
        let (mustUnions, cannotUnions) = try overrideUnions(of: sourceID)
        found.removeAll { cannotUnions.contains($0.unionID) }
        let forced = mustUnions.first { !cannotUnions.contains($0) }
        let decision: (join: Int64?, review: (unionID: Int64, score: Double)?) =
            forced == nil ? matcher.decide(for: keys, among: found) : (nil, nil)
        let chosen = forced ?? decision.join
        if let chosen {
            let placement = forced != nil ? Placement(decision: "must-link") : matched(keys, in: found.first { $0.unionID == chosen })
            if chosen == previous {
                // A changed record may now be the better master, and the others may no longer agree with it.
                try joinUnion(sourceID, chosen, placement)
                try refreshMaster(chosen)
                if !revalidating { try revalidate(chosen) }
                return chosen
            }
            if let previous { try remove(sourceID: sourceID, from: previous, member: member, joining: chosen) }
            try joinUnion(sourceID, chosen, placement)
            try refreshMaster(chosen)
            try log("union-joined", union: chosen, source: sourceID, member: member)
            return chosen
        }
        // A near miss is queued for a person; the record is placed as if there were no match meanwhile.
        if let near = decision.review, near.unionID != previous {
            queueReview.bind(1, sourceID)
            queueReview.bind(2, near.unionID)
            queueReview.bind(3, near.score)
            queueReview.bind(4, matcher.ruleVersion)
            queueReview.bind(5, now)
            try queueReview.run()
        }
        // No match: a record alone in its union record keeps it; one that leaves a cluster (or must leave it for
        // a cannot-link) starts a new one.
        var evidence = #"{"candidates":\#(found.count + ruledOut)"#
        if let near = decision.review { evidence += #","near_miss":"\#(UnionID.format(near.unionID))","near_miss_score":\#(near.score)"# }
        let unmatched = Placement(decision: "new", evidence: evidence + "}")
        if let previous, try count(previous) == 1 {
            try joinUnion(sourceID, previous, unmatched)
            // Its one record changed, so it did too: harvesters ask by this time.
            try refreshMaster(previous)
            return previous
        }
        if let previous { try remove(sourceID: sourceID, from: previous, member: member) }
        createUnion.bind(1, sourceID)
        createUnion.bind(2, now)
        createUnion.bind(3, now)
        try createUnion.run()
        let created = createUnion.lastInsertedRowID
        try joinUnion(sourceID, created, unmatched)
        try log("union-created", union: created, source: sourceID, member: member)
        return created
    }

    /// Takes a deleted or withdrawn source record out of its union record; an emptied union record is deleted.
    func remove(sourceID: Int64, member: String) throws {
        try dropKeys(of: sourceID)
        guard let unionID = try union(of: sourceID) else { return }
        try remove(sourceID: sourceID, from: unionID, member: member)
    }

    /// - Parameter survivor: the union record the source record moves to; when it was the last record here, this
    ///   union record was merged into that one and redirects to it, rather than being deleted.
    private func remove(sourceID: Int64, from unionID: Int64, member: String, joining survivor: Int64? = nil) throws {
        leave.bind(1, sourceID)
        try leave.run()
        let remaining = try count(unionID)
        if let survivor, remaining == 0 {
            mergeUnion.bind(1, survivor)
            mergeUnion.bind(2, now)
            mergeUnion.bind(3, unionID)
            try mergeUnion.run()
            try log("union-merged", union: unionID, source: sourceID, member: member)
        } else if remaining == 0 {
            deleteUnion.bind(1, now)
            deleteUnion.bind(2, unionID)
            try deleteUnion.run()
            try log("union-deleted", union: unionID, source: sourceID, member: member)
        } else {
            master.bind(1, unionID)
            let wasMaster = try master.step() && !master.isNull(0) && master.int64(0) == sourceID
            master.reset()
            if wasMaster { try refreshMaster(unionID) }
            try log("union-left", union: unionID, source: sourceID, member: member)
            try revalidate(unionID)
        }
    }

    /// After a record left a union record or changed in it: every other record must still agree with the
    /// cluster (no conflict, and the master or most records match it). One that no longer does is placed again,
    /// so a cluster splits when its evidence goes; the master's side keeps the id. Records an admin linked into
    /// the cluster stay.
    private func revalidate(_ unionID: Int64) throws {
        var records: [(id: Int64, member: String, features: String)] = []
        clusterMembers.bind(1, unionID)
        while try clusterMembers.step() {
            records.append((clusterMembers.int64(0), clusterMembers.text(1), clusterMembers.text(2)))
        }
        clusterMembers.reset()
        guard records.count >= 2 else { return }
        master.bind(1, unionID)
        let masterID = try master.step() && !master.isNull(0) ? master.int64(0) : nil
        master.reset()
        // The master defines the cluster: the others are checked against it and the rest.
        var agreeing: Set<String> = []
        for record in records where record.id != masterID {
            // Records with the same keys (one book from many libraries) stand or fall together.
            if agreeing.contains(record.features) { continue }
            // An earlier re-placement may have moved it already.
            guard try union(of: record.id) == unionID else { continue }
            let keys = MatchKey.decode(record.features)
            let others = try candidate(unionID, excluding: record.id)
            if matcher.decide(for: keys, among: [others]).join == unionID {
                agreeing.insert(record.features)
                continue
            }
            if try overrideUnions(of: record.id).must.contains(unionID) { continue }
            try place(sourceID: record.id, member: record.member, keys: keys, isNew: false, revalidating: true)
        }
    }

    /// Deletes a changed or departing record's block keys. Where they were rows its union record is found by, the
    /// union record's other records write theirs (one row a key; records with the same keys need one), so it is
    /// still found by every key of every record in it, and the record, placed again, finds it as others would.
    private func dropKeys(of sourceID: Int64) throws {
        deleteKeys.bind(1, sourceID)
        try deleteKeys.run()
        guard deleteKeys.changes > 0, let unionID = try union(of: sourceID) else { return }
        var members: [(id: Int64, features: String)] = []
        allClusterKeys.bind(1, unionID)
        while try allClusterKeys.step() { members.append((allClusterKeys.int64(0), allClusterKeys.text(1))) }
        allClusterKeys.reset()
        var restored: Set<String> = []
        var written: Set<Int64> = []
        for member in members where member.id != sourceID && restored.insert(member.features).inserted {
            let keys = MatchKey.decode(member.features)
            let sketch = matcher.conflictSketch(keys)
            for key in matcher.blockingKeys(keys) where written.insert(key.blockHash).inserted {
                insertKey.bind(1, key.blockHash)
                insertKey.bind(2, member.id)
                insertKey.bind(3, unionID)
                insertKey.bind(4, sketch)
                try insertKey.run()
            }
        }
    }

    /// The union records of the record's must-link and cannot-link partners.
    private func overrideUnions(of sourceID: Int64) throws -> (must: [Int64], cannot: Set<Int64>) {
        guard hasOverrides else { return ([], []) }
        overrides.bind(1, sourceID)
        defer { overrides.reset() }
        var must: [Int64] = []
        var cannot: Set<Int64> = []
        while try overrides.step() {
            if overrides.text(0) == "must" { must.append(overrides.int64(1)) } else { cannot.insert(overrides.int64(1)) }
        }
        return (must.sorted(), cannot)
    }

    private func union(of sourceID: Int64) throws -> Int64? {
        unionOf.bind(1, sourceID)
        defer { unionOf.reset() }
        return try unionOf.step() ? unionOf.int64(0) : nil
    }

    private func count(_ unionID: Int64) throws -> Int {
        memberCount.bind(1, unionID)
        defer { memberCount.reset() }
        return try memberCount.step() ? Int(memberCount.int64(0)) : 0
    }

    /// The decision that put a record in its union record, stored with the membership.
    struct Placement {
        var decision: String
        var score: Double?
        var comparedWith: Int64?
        var evidence: String?
    }

    /// A match: the record's comparison with the cluster's master (or its first record), as the matcher explains it.
    private func matched(_ keys: [MatchKey], in candidate: ClusterCandidate?) -> Placement {
        guard let candidate, let other = candidate.memberKeys[safe: candidate.masterIndex ?? 0],
            let explained = matcher.evidence(for: keys, against: other)
        else { return Placement(decision: "matched") }
        return Placement(
            decision: "matched", score: explained.score, comparedWith: candidate.masterIndex == nil ? nil : candidate.masterSourceID,
            evidence: explained.findings)
    }

    private func joinUnion(_ sourceID: Int64, _ unionID: Int64, _ placement: Placement) throws {
        join.bind(1, sourceID)
        join.bind(2, unionID)
        join.bind(3, placement.decision)
        join.bind(4, placement.score)
        join.bind(5, placement.comparedWith)
        join.bind(6, matcher.ruleVersion)
        join.bind(7, placement.evidence)
        join.bind(8, now)
        try join.run()
    }

    /// The query for a union record's best source record: the highest quality (encoding level, completeness),
    /// then the member with the highest priority, then the most recent.
    static func bestMember(_ unionID: String) -> String {
        """
        SELECT s.id FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id JOIN members m ON m.code = s.member
        WHERE cm.union_id = \(unionID) ORDER BY s.quality DESC, m.priority DESC, s.updated_at DESC, s.id LIMIT 1
        """
    }

    private func refreshMaster(_ unionID: Int64) throws {
        setMaster.bind(1, now)
        setMaster.bind(2, unionID)
        setMaster.bind(3, unionID)
        try setMaster.run()
    }

    private func log(_ kind: String, union unionID: Int64, source sourceID: Int64, member: String) throws {
        change.bind(1, now)
        change.bind(2, kind)
        change.bind(3, unionID)
        change.bind(4, sourceID)
        change.bind(5, member)
        try change.run()
    }

    /// Whether the union record's master alone keeps the record out (the record itself never counts).
    private func masterRulesOut(_ unionID: Int64, keys: [MatchKey], excluding sourceID: Int64) throws -> Bool {
        masterKeys.bind(1, unionID)
        defer { masterKeys.reset() }
        guard try masterKeys.step(), masterKeys.int64(0) != sourceID, !masterKeys.isNull(1) else { return false }
        return matcher.rulesOut(keys, clusterWith: MatchKey.decode(masterKeys.text(1)))
    }

    private func candidate(_ unionID: Int64, excluding sourceID: Int64) throws -> ClusterCandidate {
        // Members with the same keys (the same book from many libraries) need comparing once.
        var seen: [String: Int] = [:]
        var members: [[MatchKey]] = []
        var weights: [Int] = []
        var masterIndex: Int?
        var masterSourceID: Int64?
        clusterKeys.bind(1, unionID)
        clusterKeys.bind(2, sourceID)
        defer { clusterKeys.reset() }
        while try clusterKeys.step() {
            let features = clusterKeys.text(0)
            let index: Int
            if let known = seen[features] {
                index = known
                weights[index] += 1
            } else {
                index = members.count
                seen[features] = index
                members.append(MatchKey.decode(features))
                weights.append(1)
            }
            if clusterKeys.int64(1) != 0 {
                masterIndex = index
                masterSourceID = clusterKeys.int64(2)
            }
        }
        return ClusterCandidate(
            unionID: unionID, memberKeys: members, weights: weights, masterIndex: masterIndex, masterSourceID: masterSourceID)
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
