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
        decide(for: keys, among: candidates).join
    }

    public func review(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (unionID: Int64, score: Double)? {
        decide(for: keys, among: candidates).review
    }

    /// One pass over the candidates: the union record whose every distinct member the record matches (the best
    /// by its weakest score); failing that, the one whose members it matches or nearly matches, with at least one
    /// near miss — what a person should look at.
    public func decide(for keys: [MatchKey], among candidates: [ClusterCandidate])
        -> (join: Int64?, review: (unionID: Int64, score: Double)?)
    {
        var best: (union: Int64, score: Double)?
        var near: (unionID: Int64, score: Double)?
        for candidate in candidates where !candidate.memberKeys.isEmpty {
            var weakest = Double.infinity
            var allMatch = true
            for member in candidate.memberKeys {
                let comparison = PairComparison(keys, member)
                if comparison.decision == .match {
                    weakest = min(weakest, comparison.score)
                } else if comparison.isNearMiss {
                    allMatch = false
                    weakest = min(weakest, comparison.score)
                } else {
                    weakest = -.infinity
                    break
                }
            }
            guard weakest > -.infinity else { continue }
            if allMatch {
                if best == nil || weakest > best!.score || (weakest == best!.score && candidate.unionID < best!.union) {
                    best = (candidate.unionID, weakest)
                }
            } else if near == nil || weakest > near!.score {
                near = (candidate.unionID, weakest)
            }
        }
        if let best { return (best.union, nil) }
        return (nil, near)
    }
}
