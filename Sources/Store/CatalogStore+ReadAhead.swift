import Dispatch
import GRDB

extension CatalogStore {
    /// Reads, on reader connections and several at once, the pages that placing `records` will read: their
    /// block keys' rows and each candidate union record's master and members. A catalogue larger than the page
    /// cache otherwise has the writer wait for each of those pages in turn, one disk read at a time (at 8 M
    /// records, most of its time). Read ahead, they are in the cache when it comes to them. Nothing is written
    /// or returned, and nothing depends on it: a page the writer changed meanwhile is read again, and a failed
    /// read only loses the head start.
    public func readAhead(for records: [IncomingRecord], matcher: any UnionMatcher, concurrency: Int = 4) {
        let work = records.filter { !$0.deleted && $0.holdingsOf == nil }
        guard !work.isEmpty else { return }
        let lanes = max(1, min(concurrency, work.count))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            try? writer.read { db in
                let reader = try PlacementReader(db)
                for index in stride(from: lane, to: work.count, by: lanes) {
                    try reader.read(candidatesOf: work[index].keys, matcher: matcher)
                }
            }
        }
    }
}

/// The candidate reads of ``ClusterPlacement``, by the same statements, with their answers thrown away.
private struct PlacementReader {
    private let candidates: RawStatement
    private let master: RawStatement
    private let members: RawStatement

    init(_ db: Database) throws {
        candidates = try RawStatement(db, ClusterPlacement.candidatesSQL)
        master = try RawStatement(db, ClusterPlacement.candidateMasterSQL)
        members = try RawStatement(db, ClusterPlacement.candidateMembersSQL)
    }

    func read(candidatesOf keys: [MatchKey], matcher: any UnionMatcher) throws {
        var seen: Set<Int64> = []
        for key in matcher.blockingKeys(keys) where seen.count < ClusterPlacement.maximumCandidates {
            candidates.bind(1, key.blockHash)
            var unions: [Int64] = []
            while unions.count < ClusterPlacement.maximumCandidates, try candidates.step() {
                let unionID = candidates.int64(0)
                if !unions.contains(unionID) { unions.append(unionID) }
            }
            candidates.reset()
            for unionID in unions where seen.insert(unionID).inserted {
                // Each step computes the selected columns, so it reads the rows' pages. Without placement's
                // comparison with the master, whose cost made this the slower side (the benchmark measures it):
                // the members of a candidate the master rules out are read for nothing.
                master.bind(1, unionID)
                while try master.step() {}
                master.reset()
                members.bind(1, unionID)
                members.bind(2, Int64(0))
                while try members.step() {}
                members.reset()
            }
        }
    }
}
