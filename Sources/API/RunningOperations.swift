import Synchronization

/// Backups and exports under way, with how far each has got: `GET /v1/operations`, which `calisd ctl backup`
/// and `export` poll to draw their progress bars.
public final class RunningOperations: Sendable {
    public struct Operation: Sendable, Equatable {
        public var id: Int
        /// backup or export
        public var kind: String
        public var path: String
        /// Pages copied (backup) or records written (export), and of how many; total unknown until known.
        public var done: Int
        public var total: Int?
    }

    private let state = Mutex<(next: Int, running: [Int: Operation])>((1, [:]))

    public init() {}

    func start(_ kind: String, path: String, total: Int? = nil) -> Int {
        state.withLock { state in
            let id = state.next
            state.next += 1
            state.running[id] = Operation(id: id, kind: kind, path: path, done: 0, total: total)
            return id
        }
    }

    func update(_ id: Int, done: Int, total: Int?) {
        state.withLock { state in
            state.running[id]?.done = done
            if let total { state.running[id]?.total = total }
        }
    }

    func finish(_ id: Int) {
        _ = state.withLock { $0.running.removeValue(forKey: id) }
    }

    var all: [Operation] { state.withLock { $0.running.values.sorted { $0.id < $1.id } } }
}
