import Synchronization

/// The settings SIGHUP can change while the daemon runs; the rest (paths, the socket, batch size) need a
/// restart.
public final class LiveSettings: Sendable {
    public struct Values: Sendable, Equatable {
        public var withdrawalGuard: Double
        public var adminGroup: String
        public var maximumUploadBytes: Int64
        /// Holdings not confirmed for this many seconds are shown as stale.
        public var staleAfterSeconds: Int64

        public init(withdrawalGuard: Double, adminGroup: String, maximumUploadBytes: Int64, staleAfterSeconds: Int64 = 180 * 86_400) {
            self.withdrawalGuard = withdrawalGuard
            self.adminGroup = adminGroup
            self.maximumUploadBytes = maximumUploadBytes
            self.staleAfterSeconds = staleAfterSeconds
        }
    }

    private let values: Mutex<Values>

    public init(_ values: Values) { self.values = Mutex(values) }

    public var current: Values { values.withLock { $0 } }

    public func update(_ new: Values) { values.withLock { $0 = new } }
}
