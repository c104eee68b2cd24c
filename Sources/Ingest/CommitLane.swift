import Dispatch
import Store
import Synchronization

/// The ingest's writing side: batches and file endings committed in the order they were handed over, on a
/// queue of its own. The worker meanwhile reads, keys and tokenises what comes next, from the same file or the
/// next one, so the two cores work at once even when every file is a single batch (a CALIS chunk is 794 files
/// of about 1,300 records).
///
/// Batches waiting together are committed in one transaction, up to `groupRecords` records: per file, a
/// transaction wrote the same index pages to the log again and again. A file's ending (its withdrawals, archive
/// and report) runs after the transaction that holds its last batch. Only one thread submits (the worker).
final class CommitLane: Sendable {
    enum Work: Sendable {
        case batch(BatchCommit)
        case ending(@Sendable () throws -> Void)
    }

    private struct Unit: Sendable {
        var fileID: Int64
        var member: String
        var last: Bool
        var work: Work
        var onCommitted: (@Sendable () -> Void)?
        var onFailure: @Sendable (any Error) -> Void
        var tokens: Int
    }

    private struct State {
        var waiting: [Unit] = []
        var draining = false
        var pendingByMember: [String: Int] = [:]
        var failures: [Int64: any Error] = [:]
    }

    private let queue = DispatchQueue(label: "calisd.ingest.commit")
    private let groupRecords: Int
    private let commitGroup: @Sendable ([BatchCommit]) throws -> Void
    /// Read-ahead is bounded in records: a token is an eighth of a transaction's worth, a batch takes up to
    /// eight, so at most three full batches are held, or a transaction's worth of small files and the next.
    private static let tokenCount = 24
    private let tokens = DispatchSemaphore(value: CommitLane.tokenCount)
    private let state = Mutex(State())

    /// - Parameters:
    ///   - groupRecords: the most records committed in one transaction (a single larger batch is not split).
    ///   - commitGroup: commits batches in one transaction, all or none.
    init(groupRecords: Int, commitGroup: @escaping @Sendable ([BatchCommit]) throws -> Void) {
        self.groupRecords = max(1, groupRecords)
        self.commitGroup = commitGroup
    }

    /// Queues `work` for the file. Once a unit of a file has failed, its later units are skipped; `onFailure`
    /// runs on the lane for that first failure. `last` marks the file's final unit, after which it is forgotten.
    /// `onCommitted` runs on the lane once a batch is committed.
    func submit(
        fileID: Int64, member: String, last: Bool = false, _ work: Work, onCommitted: (@Sendable () -> Void)? = nil,
        onFailure: @escaping @Sendable (any Error) -> Void
    ) {
        var needed = 1
        if case .batch(let batch) = work {
            let perToken = max(1, groupRecords / 8)
            needed = min(8, max(1, (Self.size(batch) + perToken - 1) / perToken))
        }
        for _ in 0..<needed { tokens.wait() }
        let unit = Unit(
            fileID: fileID, member: member, last: last, work: work, onCommitted: onCommitted, onFailure: onFailure, tokens: needed)
        let schedule = state.withLock { state in
            state.pendingByMember[member, default: 0] += 1
            state.waiting.append(unit)
            defer { state.draining = true }
            return !state.draining
        }
        if schedule { queue.async { [self] in drain() } }
    }

    private static func size(_ batch: BatchCommit) -> Int { batch.records.count + batch.problems.count }

    private func drain() {
        while let group = takeGroup() {
            run(group)
        }
    }

    /// The units waiting at the head, as long as their batches fit one transaction; nil when none wait.
    private func takeGroup() -> [Unit]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.draining = false
                return nil
            }
            var records = 0
            var batches = 0
            var taken = 0
            for unit in state.waiting {
                if case .batch(let batch) = unit.work {
                    if batches > 0 && records + Self.size(batch) > groupRecords { break }
                    records += Self.size(batch)
                    batches += 1
                }
                taken += 1
            }
            let group = Array(state.waiting.prefix(taken))
            state.waiting.removeFirst(taken)
            return group
        }
    }

    private func run(_ group: [Unit]) {
        let batches: [(unit: Unit, batch: BatchCommit)] = group.compactMap { unit in
            guard case .batch(let batch) = unit.work, !hasFailed(unit.fileID) else { return nil }
            return (unit, batch)
        }
        if !batches.isEmpty {
            do {
                try commitGroup(batches.map(\.batch))
                for (unit, _) in batches { unit.onCommitted?() }
            } catch {
                // A batch the database refuses must fail only its file: each is tried again alone.
                for (unit, batch) in batches where !hasFailed(unit.fileID) {
                    do {
                        try commitGroup([batch])
                        unit.onCommitted?()
                    } catch {
                        fail(unit, error)
                    }
                }
            }
        }
        // Endings after the transaction that holds their file's batches: they may move and report the file.
        for unit in group {
            if case .ending(let work) = unit.work, !hasFailed(unit.fileID) {
                do {
                    try work()
                } catch {
                    fail(unit, error)
                }
            }
        }
        state.withLock { state in
            for unit in group {
                if unit.last { state.failures[unit.fileID] = nil }
                state.pendingByMember[unit.member, default: 1] -= 1
                if state.pendingByMember[unit.member] == 0 { state.pendingByMember[unit.member] = nil }
            }
        }
        for unit in group {
            for _ in 0..<unit.tokens { tokens.signal() }
        }
    }

    private func fail(_ unit: Unit, _ error: any Error) {
        state.withLock { $0.failures[unit.fileID] = error }
        unit.onFailure(error)
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
