import Dispatch
import Synchronization

/// The ingest's writing side: batches and file endings committed one at a time, in the order they were handed
/// over, on a queue of its own. The worker meanwhile reads, keys and tokenises what comes next, from the same
/// file or the next one, so the two cores work at once even when every file is a single batch (a CALIS chunk is
/// 794 files of about 1,300 records).
final class CommitLane: Sendable {
    private struct State {
        var pendingByMember: [String: Int] = [:]
        var failures: [Int64: any Error] = [:]
    }

    private let queue = DispatchQueue(label: "calisd.ingest.commit")
    /// One unit committing and one waiting behind it: read-ahead is bounded to a batch.
    private let slots = DispatchSemaphore(value: 2)
    private let state = Mutex(State())

    /// Queues `work` for the file. Once a unit of a file has failed, its later units are skipped; `onFailure`
    /// runs on the lane for that first failure. `last` marks the file's final unit, after which it is forgotten.
    func submit(
        fileID: Int64, member: String, last: Bool = false, _ work: @escaping @Sendable () throws -> Void,
        onFailure: @escaping @Sendable (any Error) -> Void
    ) {
        slots.wait()
        state.withLock { $0.pendingByMember[member, default: 0] += 1 }
        queue.async { [self] in
            if state.withLock({ $0.failures[fileID] }) == nil {
                do {
                    try work()
                } catch {
                    state.withLock { $0.failures[fileID] = error }
                    onFailure(error)
                }
            }
            state.withLock { state in
                if last { state.failures[fileID] = nil }
                state.pendingByMember[member, default: 1] -= 1
                if state.pendingByMember[member] == 0 { state.pendingByMember[member] = nil }
            }
            slots.signal()
        }
    }

    /// Whether a unit of the file has failed (its ending is then the lane's).
    func hasFailed(_ fileID: Int64) -> Bool { state.withLock { $0.failures[fileID] != nil } }

    /// Whether anything of the member's is still to be committed: its next file must wait for it.
    func hasPending(member: String) -> Bool { state.withLock { $0.pendingByMember[member] != nil } }

    /// Returns once everything handed over so far is committed.
    func waitUntilIdle() { queue.sync {} }

    /// Runs `body` once everything handed over so far is committed.
    func whenIdle(_ body: @escaping @Sendable () -> Void) { queue.async(execute: body) }
}

/// How a file handed to the lane ended, for a caller that waits for it.
final class FileCompletion: Sendable {
    private let outcome = Mutex<Result<FileIngestor.Outcome, any Error>?>(nil)

    func set(_ result: Result<FileIngestor.Outcome, any Error>) { outcome.withLock { $0 = result } }

    /// Once the lane is idle: the file's outcome, or the error that ended it.
    func result() throws -> FileIngestor.Outcome {
        guard let result = outcome.withLock({ $0 }) else { return .interrupted }
        return try result.get()
    }
}
