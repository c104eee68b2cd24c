import Synchronization

/// What read-ahead found for one record's placement, and the commit count before it read: a record's candidate
/// union records by block key, their masters' keys and their members' keys. Placement takes an answer instead
/// of reading again only where ``PlacementJournal`` shows that nothing it depends on was written since, so the
/// record is placed exactly as if it had read; otherwise it reads, as it always did.
public struct PlacementAnswers: Sendable {
    /// A union record's master as ``ClusterPlacement/candidateMasterSQL`` reads it; nil when it has none.
    struct Master: Sendable {
        var sourceID: Int64
        var keys: [MatchKey]?
    }

    /// One row of ``ClusterPlacement/candidateMembersSQL``, read excluding no record.
    struct Member: Sendable {
        var features: String
        var isMaster: Bool
        var sourceID: Int64
    }

    /// The writer's commit count before the read began: the answers show that state or a later one.
    let asOf: UInt64
    var unionsByKey: [Int64: [ClusterPlacement.FoundUnion]] = [:]
    var masters: [Int64: Master?] = [:]
    /// Only union records with fewer members than placement reads at most: without the record placed, the read
    /// would then give the same rows.
    var members: [Int64: [Member]] = [:]
    /// The members' features, decoded once here rather than on the writer.
    var decoded: [String: [MatchKey]] = [:]

    init(asOf: UInt64) { self.asOf = asOf }
}

/// Which block keys and union records ingest's own transactions changed, by the commit that holds the change,
/// so that read-ahead answers can be checked against what was written after they were read. A commit that is not
/// ingest's batches is not journaled: it makes every answer read before it stale.
final class PlacementJournal: Sendable {
    private struct State {
        /// Commits seen so far; kept equal to ``CommitCounter``'s count.
        var committed: UInt64 = 0
        /// Answers read before this commit count are stale.
        var floor: UInt64 = 0
        var journaling = false
        var keys: [Int64: UInt64] = [:]
        var unions: [Int64: UInt64] = [:]
        var taken = 0
        var refused = 0
    }

    /// The journal is cut back to the last few commits once it holds this many entries.
    private static let entriesKept = 1_000_000
    private static let commitsKept: UInt64 = 8
    private let state = Mutex(State())

    /// The transaction under way changes the catalogue only through journaled placement: its commit leaves
    /// earlier answers standing where they do not touch what it changed.
    func journalThisTransaction() { state.withLock { $0.journaling = true } }

    func changed(key: Int64) { state.withLock { $0.keys[key] = $0.committed + 1 } }

    func changed(union: Int64) { state.withLock { $0.unions[union] = $0.committed + 1 } }

    func didCommit(count: UInt64) {
        state.withLock { state in
            state.committed = count
            if !state.journaling { state.floor = count }
            state.journaling = false
            if state.keys.count + state.unions.count > Self.entriesKept, count > Self.commitsKept {
                // An answer older than the cut could depend on an entry the cut drops.
                let cut = count - Self.commitsKept
                state.keys = state.keys.filter { $0.value > cut }
                state.unions = state.unions.filter { $0.value > cut }
                state.floor = max(state.floor, cut)
            }
        }
    }

    func didRollback() { state.withLock { $0.journaling = false } }

    /// Whether the answers still hold for the block key and the union records.
    func holds(_ answers: PlacementAnswers, key: Int64? = nil, union: Int64? = nil) -> Bool {
        state.withLock { state in
            let current =
                answers.asOf >= state.floor && key.map { (state.keys[$0] ?? 0) <= answers.asOf } ?? true
                && union.map { (state.unions[$0] ?? 0) <= answers.asOf } ?? true
            if current { state.taken += 1 } else { state.refused += 1 }
            return current
        }
    }

    /// How many answers placement took and how many it refused as stale, since the store opened.
    var uses: (taken: Int, refused: Int) { state.withLock { ($0.taken, $0.refused) } }
}
