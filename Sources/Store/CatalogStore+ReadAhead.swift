import Dispatch
import GRDB
import Synchronization

extension CatalogStore {
    /// Reads, several at once, what committing `records` for `member` will read: each record's stored version
    /// and, for a record that will be placed, its block keys' rows and the master and members of each candidate
    /// union record that no row's conflict sketch rules out. A catalogue larger than the page cache otherwise has
    /// the writer wait for each of those pages in turn, one disk read at a time. Read ahead, they are in the cache
    /// when it comes to them; and the answers go with the records, so that the writer need not read again what
    /// no commit since has changed (``PlacementJournal``). Nothing is written, and a failed read only loses the
    /// head start.
    ///
    /// It reads on connections of its own, never the pool's readers, which the API answers from.
    /// - Returns: the answers, by the record's index in `records`, of each record whose candidates it read (an
    ///   unchanged record, a deletion or holdings are not placed).
    public func readAhead(for records: [IncomingRecord], member: String, matcher: any UnionMatcher) -> [Int: PlacementAnswers] {
        guard let readAheadLanes else { return [:] }
        let work = records.indices.filter { !records[$0].deleted && records[$0].holdingsOf == nil }
        guard !work.isEmpty else { return [:] }
        let found = Mutex<[Int: PlacementAnswers]>([:])
        readAheadLanes.read(work.count, asOf: { [commits] in commits.value }) { db, indices, asOf in
            let reader = try PlacementReader(db)
            var answers: [Int: PlacementAnswers] = [:]
            for index in indices {
                let record = work[index]
                if let answer = try reader.read(records[record], member: member, matcher: matcher, asOf: asOf) {
                    answers[record] = answer
                }
            }
            found.withLock { $0.merge(answers) { first, _ in first } }
        }
        return found.withLock { $0 }
    }

    /// How many of read-ahead's answers placement took, and how many it refused as stale, since the store opened.
    public var readAheadAnswers: (taken: Int, refused: Int) { commits.journal.uses }
}

/// A few read-only connections, each on a thread of its own: a lane blocked on the disk leaves the others
/// reading, which is the point. (`concurrentPerform` runs no more lanes than there are cores, however long
/// they wait.) Each keeps SQLite's small default page cache: what it reads is for the operating system's cache.
final class ReadAheadLanes: Sendable {
    private final class Lane: Sendable {
        let queue: DispatchQueue
        let connection = Mutex<DatabaseQueue?>(nil)
        init(_ number: Int) { queue = DispatchQueue(label: "calisd.read-ahead.\(number)") }
    }

    private let lanes: [Lane]
    private let path: String

    init(path: String, count: Int = 4) {
        self.path = path
        lanes = (0..<count).map(Lane.init)
    }

    /// Spreads `count` items over the lanes, runs `read` on each lane's share, and waits for them.
    /// - Parameter asOf: the writer's commit count, taken by each lane just before its read transaction begins.
    func read(
        _ count: Int, asOf: @escaping @Sendable () -> UInt64,
        _ read: @escaping @Sendable (Database, StrideTo<Int>, UInt64) throws -> Void
    ) {
        let used = min(lanes.count, count)
        let group = DispatchGroup()
        for (number, lane) in lanes.prefix(used).enumerated() {
            lane.queue.async(group: group) { [path] in
                lane.connection.withLock { connection in
                    do {
                        if connection == nil { connection = try Self.openReadOnly(path, label: "calisd.read-ahead") }
                        let snapshot = asOf()
                        try connection?.read { db in try read(db, stride(from: number, to: count, by: used), snapshot) }
                    } catch {
                        // Reading ahead is only a head start; the commit reads what it needs itself.
                    }
                }
            }
        }
        group.wait()
    }

    /// A read-only connection of its own, outside the pool.
    static func openReadOnly(_ path: String, label: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(1)
        configuration.label = label
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}

/// The reads of a batch's commit for one record (``CatalogStore/storedVersionSQL``) and of ``ClusterPlacement``,
/// by the same statements, with what placement will use of them kept as ``PlacementAnswers``.
private struct PlacementReader {
    private let storedVersion: RawStatement
    private let unionOf: RawStatement
    private let candidates: RawStatement
    private let master: RawStatement
    private let members: RawStatement

    init(_ db: Database) throws {
        storedVersion = try RawStatement(db, CatalogStore.storedVersionSQL)
        unionOf = try RawStatement(db, ClusterPlacement.unionOfSQL)
        candidates = try RawStatement(db, ClusterPlacement.candidatesSQL)
        master = try RawStatement(db, ClusterPlacement.candidateMasterSQL)
        members = try RawStatement(db, ClusterPlacement.candidateMembersSQL)
    }

    /// - Returns: the answers when the record will be placed and its candidates were read, else nil.
    func read(_ record: IncomingRecord, member: String, matcher: any UnionMatcher, asOf: UInt64) throws -> PlacementAnswers? {
        storedVersion.bind(1, member)
        storedVersion.bind(2, record.localID)
        let stored = try storedVersion.step() ? storedVersion.int64(0) : nil
        let unchanged = stored != nil && CatalogStore.leavesUnchanged(record, stored: storedVersion)
        storedVersion.reset()
        if unchanged { return nil }
        var answers = PlacementAnswers(asOf: asOf)
        if let stored {
            // A changed record leaves its union record first: the others there are read again.
            unionOf.bind(1, stored)
            let unionID = try unionOf.step() ? unionOf.int64(0) : nil
            unionOf.reset()
            if let unionID { try readMembers(of: unionID, into: &answers) }
        }
        var seen: Set<Int64> = []
        let sketch = matcher.conflictSketch(record.keys)
        for key in matcher.blockingKeys(record.keys) where seen.count < ClusterPlacement.maximumCandidates {
            let hash = key.blockHash
            let unions = try ClusterPlacement.unions(foundBy: hash, candidates, sketch: sketch, matcher: matcher)
            answers.unionsByKey[hash] = unions
            for union in unions where seen.insert(union.id).inserted && !union.sketchRulesOut {
                // Without placement's comparison with the master, whose cost made this the slower side (the
                // benchmark measures it): the members of a candidate the master rules out are read for nothing.
                master.bind(1, union.id)
                answers.masters[union.id] =
                    try master.step()
                    ? PlacementAnswers.Master(sourceID: master.int64(0), keys: master.isNull(1) ? nil : MatchKey.decode(master.text(1)))
                    : .some(nil)
                master.reset()
                try readMembers(of: union.id, into: &answers)
            }
        }
        return answers
    }

    private func readMembers(of unionID: Int64, into answers: inout PlacementAnswers) throws {
        members.bind(1, unionID)
        members.bind(2, Int64(0))
        defer { members.reset() }
        var rows: [PlacementAnswers.Member] = []
        while try members.step() {
            let features = members.text(0)
            if answers.decoded[features] == nil { answers.decoded[features] = MatchKey.decode(features) }
            rows.append(PlacementAnswers.Member(features: features, isMaster: members.int64(1) != 0, sourceID: members.int64(2)))
        }
        // At the limit, excluding the record placed could bring in a row not read here.
        if rows.count < ClusterPlacement.maximumCandidateMembers { answers.members[unionID] = rows }
    }
}
