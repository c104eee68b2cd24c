/// SPEC §4's settle rule: a file closed after writing, or found by a scan, is taken once its size and
/// modification time have not changed for `settleSeconds`; a file renamed into place is taken at once.
public struct SettleRule: Sendable {
    public let settleNanoseconds: Int64
    private var seen: [String: (size: Int64, modified: Int64, since: Int64)] = [:]

    public init(settleSeconds: Int) {
        settleNanoseconds = Int64(settleSeconds) * 1_000_000_000
    }

    /// Records an observation at `now` (monotonic nanoseconds); true when the file may be taken.
    public mutating func observe(path: String, size: Int64, modified: Int64, now: Int64, renamedIntoPlace: Bool = false)
        -> Bool
    {
        if renamedIntoPlace {
            seen[path] = nil
            return true
        }
        if let previous = seen[path], previous.size == size, previous.modified == modified {
            if now - previous.since >= settleNanoseconds {
                seen[path] = nil
                return true
            }
            return false
        }
        seen[path] = (size, modified, now)
        return false
    }

    /// Forgets a path that went away or was taken.
    public mutating func forget(_ path: String) { seen[path] = nil }

    /// Paths being watched and not yet settled: what `/v1/status` counts as queued.
    public var pending: Int { seen.count }
}
