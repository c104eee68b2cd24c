import Store

/// The dedup engine's union matching: candidates by identifier and title blocks, each compared field by
/// field (``PairComparison``); a record joins the union record whose every distinct member it matches — the
/// best such, by its weakest score — and otherwise starts its own.
public struct EngineMatcher: UnionMatcher {
    /// Most selective first.
    public static let blockingOrder = ["isbn", "issn", "lccn", "oclc", "tauth", "aub", "tyear"]
    public static let blockingKinds = Set(blockingOrder)

    public init() {}

    public var ruleVersion: String { PairComparison.ruleVersion }

    public var fallbackKinds: Set<String> { [] }

    public func blockingKeys(_ keys: [MatchKey]) -> [MatchKey] {
        Self.blockingOrder.flatMap { kind in keys.filter { $0.kind == kind } }
    }

    public func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64? {
        var best: (union: Int64, score: Double)?
        for candidate in candidates where !candidate.memberKeys.isEmpty {
            var weakest = Double.infinity
            for member in candidate.memberKeys {
                let comparison = PairComparison(keys, member)
                guard comparison.decision == .match else {
                    weakest = -.infinity
                    break
                }
                weakest = min(weakest, comparison.score)
            }
            guard weakest > -.infinity else { continue }
            if best == nil || weakest > best!.score || (weakest == best!.score && candidate.unionID < best!.union) {
                best = (candidate.unionID, weakest)
            }
        }
        return best?.union
    }

    /// The union record whose every distinct member the record matches or nearly matches, with at least one near
    /// miss and the best weakest score: what a person should look at.
    public func review(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (unionID: Int64, score: Double)? {
        var best: (unionID: Int64, score: Double)?
        for candidate in candidates where !candidate.memberKeys.isEmpty {
            var weakest = Double.infinity
            for member in candidate.memberKeys {
                let comparison = PairComparison(keys, member)
                guard comparison.decision == .match || comparison.isNearMiss else {
                    weakest = -.infinity
                    break
                }
                weakest = min(weakest, comparison.score)
            }
            guard weakest > -.infinity, weakest < PairComparison.threshold else { continue }
            if best == nil || weakest > best!.score { best = (candidate.unionID, weakest) }
        }
        return best
    }
}
