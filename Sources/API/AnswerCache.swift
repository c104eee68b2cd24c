import Store
import Synchronization

/// Answers to record reads (a union record in a format, an identifier lookup) kept while the catalogue has not
/// changed since they were built, so a record many members ask for is read and encoded once.
///
/// Each answer carries the writer's commit count taken before its reads began; any later commit makes it out of
/// date, whatever it touched, so an answer is never older than the catalogue. It also carries the moment its
/// first holding turns stale, since `stale` is a function of the clock too. Two generations bound the memory: when
/// the newer one fills half the budget it becomes the older and the oldest is dropped, so what is still asked for
/// survives and the rest goes.
final class AnswerCache: Sendable {
    struct Entry: Sendable {
        var response: APIResponse
        var commit: UInt64
        /// Seconds since 1970 after which the answer is out of date (a holding in it turns stale).
        var validUntil: Int64
        /// The stale-after setting the answer was built with: a reload that changes it changes answers.
        var staleAfter: Int64
    }

    private struct Generations {
        var newer: [String: Entry] = [:]
        var older: [String: Entry] = [:]
        var newerBytes = 0
    }

    private let budget: Int
    private let generations = Mutex(Generations())

    /// - Parameter budgetBytes: how much answer bytes may use in all; 0 keeps nothing.
    init(budgetBytes: Int) {
        self.budget = budgetBytes
    }

    var isEnabled: Bool { budget > 0 }

    /// The answer kept for `key`, when it is still current.
    func answer(_ key: String, commit: UInt64, now: Int64, staleAfter: Int64) -> APIResponse? {
        guard isEnabled else { return nil }
        return generations.withLock { state -> APIResponse? in
            if let entry = state.newer[key] {
                return Self.current(entry, commit, now, staleAfter) ? entry.response : nil
            }
            guard let entry = state.older.removeValue(forKey: key), Self.current(entry, commit, now, staleAfter) else { return nil }
            Self.insert(key, entry, into: &state, budget: budget)
            return entry.response
        }
    }

    func keep(_ key: String, _ entry: Entry) {
        guard isEnabled, entry.response.body.count <= budget / 8 else { return }
        generations.withLock { Self.insert(key, entry, into: &$0, budget: budget) }
    }

    private static func current(_ entry: Entry, _ commit: UInt64, _ now: Int64, _ staleAfter: Int64) -> Bool {
        entry.commit == commit && now <= entry.validUntil && entry.staleAfter == staleAfter
    }

    private static func insert(_ key: String, _ entry: Entry, into state: inout Generations, budget: Int) {
        let size = entry.response.body.count + key.utf8.count + 64
        if state.newerBytes + size > budget / 2 {
            state.older = state.newer
            state.newer = [:]
            state.newerBytes = 0
        }
        if let previous = state.newer.updateValue(entry, forKey: key) {
            state.newerBytes -= previous.response.body.count + key.utf8.count + 64
        }
        state.newerBytes += size
    }
}
