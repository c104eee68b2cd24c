import Dispatch
import GRDB
import Synchronization

extension CatalogStore {
    /// Reads, several at once, the pages that committing `records` for `member` will read: each record's stored
    /// version and, for a record that will be placed, its block keys' rows and the master and members of each
    /// candidate union record that no row's conflict sketch rules out. A catalogue larger than the page cache
    /// otherwise has the writer wait for each of those pages in turn, one disk read at a time (at 8 M records,
    /// most of its time). Read ahead, they are in the cache when it comes to them. Nothing is written, and
    /// nothing depends on it: a page the writer changed meanwhile is read again, and a failed read only loses the
    /// head start.
    ///
    /// It reads on connections of its own, never the pool's readers, which the API answers from.
    /// - Returns: how many records' candidates it read (an unchanged record, a deletion or holdings are not placed).
    @discardableResult
    public func readAhead(for records: [IncomingRecord], member: String, matcher: any UnionMatcher) -> Int {
        guard let readAheadLanes else { return 0 }
        let work = records.filter { !$0.deleted && $0.holdingsOf == nil }
        guard !work.isEmpty else { return 0 }
        return readAheadLanes.read(work.count) { db, indices in
            let reader = try PlacementReader(db)
            return try indices.reduce(0) { $0 + (try reader.read(work[$1], member: member, matcher: matcher)) }
        }
    }
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

    private final class Tally: Sendable {
        let value = Atomic<Int>(0)
    }

    private let lanes: [Lane]
    private let path: String

    init(path: String, count: Int = 4) {
        self.path = path
        lanes = (0..<count).map(Lane.init)
    }

    /// Spreads `count` items over the lanes, runs `read` on each lane's share, and waits for them.
    /// - Returns: the sum of what `read` returned; a lane whose read failed counts 0.
    func read(_ count: Int, _ read: @escaping @Sendable (Database, StrideTo<Int>) throws -> Int) -> Int {
        let used = min(lanes.count, count)
        let total = Tally()
        let group = DispatchGroup()
        for (number, lane) in lanes.prefix(used).enumerated() {
            lane.queue.async(group: group) { [path] in
                lane.connection.withLock { connection in
                    do {
                        if connection == nil { connection = try CatalogStore.sideConnection(path, label: "calisd.read-ahead") }
                        let done = try connection?.read { db in try read(db, stride(from: number, to: count, by: used)) }
                        total.value.add(done ?? 0, ordering: .relaxed)
                    } catch {
                        // Reading ahead is only a head start; the commit reads what it needs itself.
                    }
                }
            }
        }
        group.wait()
        return total.value.load(ordering: .relaxed)
    }
}

/// The reads of a batch's commit for one record (``CatalogStore/storedVersionSQL``) and of ``ClusterPlacement``,
/// by the same statements, with their answers thrown away.
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

    /// - Returns: 1 when the record will be placed and its candidates were read, else 0.
    func read(_ record: IncomingRecord, member: String, matcher: any UnionMatcher) throws -> Int {
        storedVersion.bind(1, member)
        storedVersion.bind(2, record.localID)
        let stored = try storedVersion.step() ? storedVersion.int64(0) : nil
        let unchanged = stored != nil && CatalogStore.leavesUnchanged(record, stored: storedVersion)
        storedVersion.reset()
        if unchanged { return 0 }
        if let stored {
            // A changed record leaves its union record first: the others there are read again.
            unionOf.bind(1, stored)
            let unionID = try unionOf.step() ? unionOf.int64(0) : nil
            unionOf.reset()
            if let unionID { try readMembers(of: unionID) }
        }
        var seen: Set<Int64> = []
        let sketch = matcher.conflictSketch(record.keys)
        for key in matcher.blockingKeys(record.keys) where seen.count < ClusterPlacement.maximumCandidates {
            let unions = try ClusterPlacement.unions(foundBy: key.blockHash, candidates, sketch: sketch, matcher: matcher)
            for union in unions where seen.insert(union.id).inserted && !union.sketchRulesOut {
                // Each step computes the selected columns, so it reads the rows' pages. Without placement's
                // comparison with the master, whose cost made this the slower side (the benchmark measures it):
                // the members of a candidate the master rules out are read for nothing.
                master.bind(1, union.id)
                while try master.step() {}
                master.reset()
                try readMembers(of: union.id)
            }
        }
        return 1
    }

    private func readMembers(of unionID: Int64) throws {
        members.bind(1, unionID)
        members.bind(2, Int64(0))
        while try members.step() {}
        members.reset()
    }
}
