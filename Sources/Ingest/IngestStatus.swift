import Synchronization

/// What `/v1/status` shows of ingest, shared between the worker, the watcher and the API.
public final class IngestStatus: Sendable {
    public struct Current: Sendable, Equatable {
        public var fileID: Int64
        public var member: String
        public var name: String
        public var done: Int
        public var total: Int?
    }

    public struct Snapshot: Sendable, Equatable {
        /// Files seen in drop folders and still settling, plus claimed files waiting for the worker.
        public var queued: Int
        /// Files being ingested now: one being committed, and the next being read while it is (0, 1 or 2).
        public var active: Int
        /// The file taken first of those being ingested.
        public var current: Current?
        /// Full scans of the drop folders since start (start-up, queue overflows, periodic checks).
        public var scans: Int
        /// Of those, scans because inotify's queue overflowed.
        public var overflowRescans: Int
    }

    private struct State {
        var settling = 0
        var claimed = 0
        var inFlight: [Current] = []
        var scans = 0
        var overflowRescans = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var snapshot: Snapshot {
        state.withLock {
            Snapshot(
                queued: $0.settling + $0.claimed, active: $0.inFlight.count, current: $0.inFlight.first, scans: $0.scans,
                overflowRescans: $0.overflowRescans)
        }
    }

    func setSettling(_ count: Int) { state.withLock { $0.settling = count } }
    func setClaimed(_ count: Int) { state.withLock { $0.claimed = count } }
    func start(_ current: Current) {
        state.withLock { state in
            state.inFlight.removeAll { $0.fileID == current.fileID }
            state.inFlight.append(current)
        }
    }
    func advance(fileID: Int64, done: Int, total: Int?) {
        state.withLock { state in
            guard let index = state.inFlight.firstIndex(where: { $0.fileID == fileID }) else { return }
            state.inFlight[index].done = done
            if let total { state.inFlight[index].total = total }
        }
    }
    func finish(fileID: Int64) { state.withLock { state in state.inFlight.removeAll { $0.fileID == fileID } } }
    func scanned(overflow: Bool) {
        state.withLock {
            $0.scans += 1
            if overflow { $0.overflowRescans += 1 }
        }
    }
}
