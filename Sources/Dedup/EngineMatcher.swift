import Foundation
import MARC
import Store

/// The dedup engine's union matching: candidates by identifier and title blocks, each compared field by
/// field (``PairComparison``); a record joins the union record whose every distinct member it matches — the
/// best such, by its weakest score — and otherwise starts its own.
public struct EngineMatcher: UnionMatcher {
    /// Most selective first.
    public static let blockingOrder = ["isbn", "issn", "lccn", "oclc", "csbn", "tauth", "aub", "tyear", "pyear"]
    public static let blockingKinds = Set(blockingOrder)

    public init() {}

    public var ruleVersion: String { PairComparison.ruleVersion }

    public var fallbackKinds: Set<String> { [] }

    public func blockingKeys(_ keys: [MatchKey]) -> [MatchKey] {
        Self.blockingOrder.flatMap { kind in keys.filter { $0.kind == kind } }
    }

    public func evidence(for keys: [MatchKey], against other: [MatchKey]) -> (score: Double, findings: String)? {
        let comparison = PairComparison(keys, other)
        guard let findings = Self.storedFindings(comparison.findings) else { return nil }
        return (comparison.score, findings)
    }

    /// The findings as stored with a placement: what `JSONEncoder` with sorted keys writes for
    /// `[StoredFinding]`, byte for byte, without its cost on the writer (one per matched record).
    /// Nil for a weight JSON cannot carry (not finite), as the encoder refuses it.
    static func storedFindings(_ findings: [PairComparison.Finding]) -> String? {
        var output: [UInt8] = [UInt8(ascii: "[")]
        output.reserveCapacity(48 * findings.count + 2)
        for (index, finding) in findings.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"field":"#.utf8)
            MARCJSONWriter.writeString(finding.field, into: &output)
            output.append(contentsOf: #","verdict":"#.utf8)
            MARCJSONWriter.writeString(finding.verdict, into: &output)
            output.append(contentsOf: #","weight":"#.utf8)
            guard finding.weight.isFinite else { return nil }
            var number = finding.weight.description
            if number.hasSuffix(".0") { number.removeLast(2) }
            output.append(contentsOf: number.utf8)
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "]"))
        return String(decoding: output, as: UTF8.self)
    }

    /// A conflict with any one record keeps a record out of its cluster (`decide`), so one comparison settles it.
    public func rulesOut(_ keys: [MatchKey], clusterWith member: [MatchKey]) -> Bool {
        PairComparison(keys, member).vetoed
    }

    public func conflictSketch(_ keys: [MatchKey]) -> Int64? { ConflictSketch(keys).storedValue }

    public func sketchesConflict(_ a: Int64, _ b: Int64) -> Bool {
        ConflictSketch.conflicts(ConflictSketch(bits: UInt64(bitPattern: a)), ConflictSketch(bits: UInt64(bitPattern: b)))
    }

    public func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64? {
        decide(for: keys, among: candidates).join
    }

    public func review(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (unionID: Int64, score: Double)? {
        decide(for: keys, among: candidates).review
    }

    /// One pass over the candidates. A record joins a union record when no record in it conflicts with it and it
    /// matches the master or most of the records (by count): the cluster as a whole, not one member of it, so
    /// clusters never chain. Among several, the best by the weakest matching score wins. Failing that, a union
    /// record with no conflict and a near miss on its master (or most records) is what a person should look at.
    public func decide(for keys: [MatchKey], among candidates: [ClusterCandidate])
        -> (join: Int64?, review: (unionID: Int64, score: Double)?)
    {
        var best: (union: Int64, score: Double)?
        var near: (unionID: Int64, score: Double)?
        for candidate in candidates where !candidate.memberKeys.isEmpty {
            var weakest = Double.infinity
            var nearest = -Double.infinity
            var matched = 0
            var nearlyMatched = 0
            var total = 0
            var masterMatched = false
            var masterNearlyMatched = false
            var conflict = false
            for (index, member) in candidate.memberKeys.enumerated() {
                let comparison = PairComparison(keys, member)
                let weight = candidate.weights[index]
                total += weight
                if comparison.vetoed {
                    conflict = true
                    break
                }
                if comparison.decision == .match {
                    matched += weight
                    weakest = min(weakest, comparison.score)
                    if index == candidate.masterIndex { masterMatched = true }
                } else if comparison.isNearMiss {
                    nearlyMatched += weight
                    nearest = max(nearest, comparison.score)
                    if index == candidate.masterIndex { masterNearlyMatched = true }
                }
            }
            if conflict { continue }
            if masterMatched || 2 * matched > total {
                if best == nil || weakest > best!.score || (weakest == best!.score && candidate.unionID < best!.union) {
                    best = (candidate.unionID, weakest)
                }
            } else if masterNearlyMatched || 2 * (matched + nearlyMatched) > total, nearest > -.infinity {
                if near == nil || nearest > near!.score { near = (candidate.unionID, nearest) }
            }
        }
        if let best { return (best.union, nil) }
        return (nil, near)
    }
}

/// A finding as stored with a placement.
struct StoredFinding: Codable {
    var field: String
    var verdict: String
    var weight: Double
}
