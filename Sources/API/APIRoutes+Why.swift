import APITypes
import Dedup
import Foundation
import MARC
import Store

extension APIRoutes {
    /// `GET /v1/why?a=MEMBER:LOCALID&b=…` (either may be a union id, standing for its master): the engine's
    /// comparison of the two, recomputed from the keys stored with them.
    func why(_ request: APIRequest) throws -> APIResponse {
        guard let first = request.query["a"], let second = request.query["b"] else {
            throw APIError.badRequest("name two records: ?a=MEMBER:LOCALID&b=MEMBER:LOCALID (or union ids)")
        }
        let a = try resolve(first)
        let b = try resolve(second)
        let keysA = MatchKey.decode(a.features ?? "")
        let keysB = MatchKey.decode(b.features ?? "")
        let comparison = PairComparison(keysA, keysB)
        return .json(
            WhyBody(
                a: side(a, keysA), b: side(b, keysB), sameUnion: a.unionID != nil && a.unionID == b.unionID,
                ruleVersion: PairComparison.ruleVersion, decision: comparison.decision.rawValue, score: comparison.score,
                threshold: PairComparison.threshold,
                findings: comparison.findings.map { .init(field: $0.field, verdict: $0.verdict, weight: $0.weight) }))
    }

    private func resolve(_ text: String) throws -> SourceRecordView {
        if let unionID = UnionID.parse(text) {
            guard let union = try context.store.unionRecord(id: unionID) else { throw APIError.notFound("no union record \(text)") }
            guard let master = union.sources.first(where: { $0.id == union.masterID }) ?? union.sources.first else {
                throw APIError.notFound("union record \(text) has no source records")
            }
            // Read again with its placement, which a union record's members are read without.
            return try context.store.sourceRecord(member: master.member, localID: master.localID) ?? master
        }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { throw APIError.badRequest("\(text): a record is MEMBER:LOCALID or a union id") }
        let localID = String(parts[1].trimmingSpaces)
        guard let record = try context.store.sourceRecord(member: String(parts[0]), localID: localID) else {
            throw APIError.notFound("member \(parts[0]) has no record \(localID)")
        }
        return record
    }

    private func side(_ record: SourceRecordView, _ keys: [MatchKey]) -> WhyBody.Side {
        WhyBody.Side(
            member: record.member, localID: record.localID, unionID: record.unionID.map(UnionID.format),
            keys: Dictionary(grouping: keys, by: \.kind).mapValues { $0.map(\.value) },
            placement: record.placement.map(Self.placement))
    }

    /// The stored decision, its evidence JSON read back: findings for a match, candidates for a new union record.
    static func placement(_ view: PlacementView) -> WhyBody.Placement {
        struct Stored: Decodable {
            var candidates: Int?
            var nearMiss: String?
            enum CodingKeys: String, CodingKey {
                case candidates
                case nearMiss = "near_miss"
            }
        }
        let data = Data((view.evidence ?? "").utf8)
        let findings = try? JSONDecoder().decode([WhyBody.Finding].self, from: data)
        let stored = findings == nil ? try? JSONDecoder().decode(Stored.self, from: data) : nil
        return WhyBody.Placement(
            decision: view.decision, score: view.score, comparedWith: view.comparedWith, ruleVersion: view.ruleVersion,
            decidedAt: view.decidedAt.map(Bodies.timestamp), findings: findings, candidates: stored?.candidates,
            nearMiss: stored?.nearMiss)
    }
}
