import Dispatch
import Foundation
import Store
import Synchronization
import Testing

@testable import Ingest

/// The commit lane on its own, with a commit that records the transactions it is given: small files' batches
/// share a transaction, endings follow their batches, and a refused batch fails only its file.
@Suite("Commit lane: batches grouped into transactions")
struct CommitLaneTests {
    /// What the lane did, in order.
    final class Journal: Sendable {
        let events = Mutex<[String]>([])
        let transactions = Mutex<[[Int64]]>([])
        func note(_ event: String) { events.withLock { $0.append(event) } }
    }

    static func batch(file: Int64, records: Int) -> BatchCommit {
        BatchCommit(
            fileID: file, member: "M\(file)",
            records: (0..<records).map { IncomingRecord(localID: "\($0)", flavour: "marc21", originalEncoding: "utf-8", record: []) },
            progress: records)
    }

    /// A lane whose first transaction signals `entered` and waits for `gate`, so everything submitted meanwhile
    /// queues behind it.
    static func lane(
        _ journal: Journal, groupRecords: Int, refusing refused: Int64? = nil, entered: DispatchSemaphore, gate: DispatchSemaphore
    ) -> CommitLane {
        let opened = Mutex(false)
        return CommitLane(groupRecords: groupRecords) { batches in
            let first = opened.withLock { opened in
                defer { opened = true }
                return !opened
            }
            if first {
                entered.signal()
                gate.wait()
            }
            let files = batches.map(\.fileID)
            journal.transactions.withLock { $0.append(files) }
            if let refused, files.contains(refused) { throw StoreError(.invalid, "file \(refused) refused") }
            journal.note("commit \(files.map(String.init).joined(separator: ","))")
        }
    }

    /// Each file one batch and its ending; the rest once the first batch is committing.
    static func submitFiles(_ lane: CommitLane, _ journal: Journal, files: ClosedRange<Int64>, records: Int, entered: DispatchSemaphore) {
        for file in files {
            lane.submit(
                fileID: file, member: "M\(file)", .batch(batch(file: file, records: records)),
                onCommitted: { journal.note("committed \(file)") }, onFailure: { _ in journal.note("failed \(file)") })
            if file == files.lowerBound { entered.wait() }
            lane.submit(
                fileID: file, member: "M\(file)", last: true, .ending { journal.note("ended \(file)") },
                onFailure: { _ in journal.note("ending failed \(file)") })
        }
    }

    @Test("small files waiting together commit in one transaction of at most the batch size; each ends after it")
    func smallFilesShareATransaction() {
        let journal = Journal()
        let (entered, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let lane = Self.lane(journal, groupRecords: 100, entered: entered, gate: gate)
        Self.submitFiles(lane, journal, files: 1...5, records: 30, entered: entered)
        #expect(lane.hasPending(member: "M3"))
        gate.signal()
        lane.waitUntilIdle()
        // File 1's batch was taken alone before the rest arrived; then three files' 90 records (a fourth would
        // pass 100) with file 1's ending, then the fifth.
        #expect(journal.transactions.withLock { $0 } == [[1], [2, 3, 4], [5]])
        #expect(
            journal.events.withLock { $0 } == [
                "commit 1", "committed 1",
                "commit 2,3,4", "committed 2", "committed 3", "committed 4", "ended 1", "ended 2", "ended 3", "ended 4",
                "commit 5", "committed 5", "ended 5",
            ])
        #expect(!(1...5).contains { lane.hasPending(member: "M\($0)") })
    }

    @Test("a batch the database refuses fails its own file only: the others of its transaction commit alone and end")
    func refusedBatchFailsOnlyItsFile() {
        let journal = Journal()
        let (entered, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let lane = Self.lane(journal, groupRecords: 100, refusing: 3, entered: entered, gate: gate)
        Self.submitFiles(lane, journal, files: 1...4, records: 30, entered: entered)
        gate.signal()
        lane.waitUntilIdle()
        #expect(journal.transactions.withLock { $0 } == [[1], [2, 3, 4], [2], [3], [4]])
        #expect(
            journal.events.withLock { $0 } == [
                "commit 1", "committed 1",
                "commit 2", "committed 2", "failed 3", "commit 4", "committed 4", "ended 1", "ended 2", "ended 4",
            ])
        #expect(!lane.hasFailed(3), "forgotten after its last unit")
        #expect(!lane.hasPending(member: "M3"))
    }

    @Test("a batch as large as a transaction is never grouped, and read-ahead stops at three of them")
    func fullBatchesCommitAlone() {
        let journal = Journal()
        let (entered, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let lane = Self.lane(journal, groupRecords: 100, entered: entered, gate: gate)
        let submitted = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for _ in 1...5 {
                lane.submit(fileID: 1, member: "M1", .batch(Self.batch(file: 1, records: 100)), onFailure: { _ in })
                submitted.withLock { $0 += 1 }
            }
            done.signal()
        }
        // The first is committing (held at the gate), two wait; the fourth waits for room.
        entered.wait()
        while submitted.withLock({ $0 }) < 3 { usleep(1_000) }
        usleep(200_000)
        #expect(submitted.withLock { $0 } == 3)
        gate.signal()
        done.wait()
        lane.waitUntilIdle()
        #expect(journal.transactions.withLock { $0 } == [[1], [1], [1], [1], [1]])
    }
}
