import Store

/// The first union matching rule: a record joins a union record when it shares a valid ISBN, ISSN, LCCN or
/// OCLC number with it and its normalised title agrees with every record already in it (no chaining through
/// one member); otherwise it starts its own. The full engine replaces this behind ``UnionMatcher``.
public struct IdentifierTitleMatcher: UnionMatcher {
    public static let identifierKinds: Set<String> = ["isbn", "issn", "lccn", "oclc"]

    public init() {}

    public var ruleVersion: String { "identifier-title-1" }

    public var fallbackKinds: Set<String> { [] }

    public func blockingKeys(_ keys: [MatchKey]) -> [MatchKey] {
        keys.filter { Self.identifierKinds.contains($0.kind) }
    }

    public func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64? {
        let titles = Set(keys.filter { $0.kind == "title" }.map(\.value))
        let identifiers = Set(blockingKeys(keys))
        guard !titles.isEmpty, !identifiers.isEmpty else { return nil }
        let agreeing = candidates.filter { candidate in
            !candidate.memberKeys.isEmpty
                && candidate.memberKeys.contains { !identifiers.isDisjoint(with: $0) }
                && candidate.memberKeys.allSatisfy { member in
                    member.contains { $0.kind == "title" && titles.contains($0.value) }
                }
        }
        return agreeing.map(\.unionID).min()
    }
}
