/// A normalised key a record can be matched on: `isbn`, `issn`, `lccn`, `oclc`, `title`…
public struct MatchKey: Sendable, Hashable, Codable {
    public var kind: String
    public var value: String

    public init(_ kind: String, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

/// A union record that shares a blocking key with the record being placed, with the keys of each of its
/// source records, so a matcher can ask that the record agrees with the whole cluster, not one member of it.
public struct ClusterCandidate: Sendable {
    public var unionID: Int64
    public var memberKeys: [[MatchKey]]

    public init(unionID: Int64, memberKeys: [[MatchKey]]) {
        self.unionID = unionID
        self.memberKeys = memberKeys
    }
}

/// Decides which union record a source record joins. The store finds the candidates (bounded, by index) and
/// applies the decision in the batch's transaction; the matcher only decides.
public protocol UnionMatcher: Sendable {
    /// Names the rules, so stored decisions can say which rules made them.
    var ruleVersion: String { get }
    /// The keys that find candidates (identifiers, say); the others are only compared.
    func blockingKeys(_ keys: [MatchKey]) -> [MatchKey]
    /// The union record to join, or nil to start a new one.
    func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64?
}

/// Every record its own union record: for store tests that are not about matching.
public struct NoMatching: UnionMatcher {
    public init() {}
    public var ruleVersion: String { "none" }
    public func blockingKeys(_ keys: [MatchKey]) -> [MatchKey] { [] }
    public func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64? { nil }
}

/// Union ids as people see them: `CAL` and at least nine digits.
public enum UnionID {
    public static func format(_ id: Int64) -> String {
        let digits = String(id)
        return "CAL" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    }

    public static func parse(_ text: String) -> Int64? {
        guard text.hasPrefix("CAL") else { return nil }
        let digits = text.dropFirst(3)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }
}
