/// A normalised key a record can be matched on: `isbn`, `issn`, `lccn`, `oclc`, `title`…
public struct MatchKey: Sendable, Hashable, Codable {
    public var kind: String
    public var value: String

    public init(_ kind: String, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

extension MatchKey {
    /// All of a record's keys as one value (kind, US, value, RS, …): stored with the record, read back when it
    /// is a candidate. Keys never hold the two separators (they are control characters, removed by normalising).
    public static func encode(_ keys: [MatchKey]) -> String {
        var text = ""
        text.reserveCapacity(keys.reduce(0) { $0 + $1.kind.utf8.count + $1.value.utf8.count + 2 })
        for (index, key) in keys.enumerated() {
            if index > 0 { text.append("\u{1E}") }
            text.append(key.kind)
            text.append("\u{1F}")
            text.append(key.value)
        }
        return text
    }

    /// FNV-1a 64 of kind, 0x1F, value: what the block index stores. Stable across runs and versions (Swift's
    /// `Hasher` is seeded per process, so it cannot be stored).
    public var blockHash: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        for byte in kind.utf8 { mix(byte) }
        mix(0x1F)
        for byte in value.utf8 { mix(byte) }
        return Int64(bitPattern: hash)
    }

    /// Splits on the separator bytes, not on `Character`s: decoding runs for every member of every candidate.
    public static func decode(_ text: String) -> [MatchKey] {
        var keys: [MatchKey] = []
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            var kindEnd: Int?
            for index in 0...bytes.count {
                if index == bytes.count || bytes[index] == 0x1E {
                    if let kindEnd {
                        keys.append(MatchKey(
                            String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<kindEnd]), as: UTF8.self),
                            String(decoding: UnsafeBufferPointer(rebasing: bytes[(kindEnd + 1)..<index]), as: UTF8.self)))
                    }
                    start = index + 1
                    kindEnd = nil
                } else if bytes[index] == 0x1F && kindEnd == nil {
                    kindEnd = index
                }
            }
        }
        return keys
    }
}

/// A union record that shares a blocking key with the record being placed, with the keys of its source records
/// (each distinct set once, with how many records carry it), so a matcher can ask that the record agrees with
/// the cluster — its master or most of its records — not merely with one member of it.
public struct ClusterCandidate: Sendable {
    public var unionID: Int64
    public var memberKeys: [[MatchKey]]
    /// How many of the cluster's records carry each of `memberKeys`.
    public var weights: [Int]
    /// Which of `memberKeys` are the master's, when the master is among them.
    public var masterIndex: Int?
    /// The master's source record id, when it is among them.
    public var masterSourceID: Int64?

    public init(
        unionID: Int64, memberKeys: [[MatchKey]], weights: [Int]? = nil, masterIndex: Int? = nil, masterSourceID: Int64? = nil
    ) {
        self.unionID = unionID
        self.memberKeys = memberKeys
        self.weights = weights ?? Array(repeating: 1, count: memberKeys.count)
        self.masterIndex = masterIndex
        self.masterSourceID = masterSourceID
    }
}

/// Decides which union record a source record joins. The store finds the candidates (bounded, by index) and
/// applies the decision in the batch's transaction; the matcher only decides.
public protocol UnionMatcher: Sendable {
    /// Names the rules, so stored decisions can say which rules made them.
    var ruleVersion: String { get }
    /// The keys that find candidates (identifiers, say), most selective first; the others are only compared.
    /// Only these are indexed.
    func blockingKeys(_ keys: [MatchKey]) -> [MatchKey]
    /// Kinds looked up only when the more selective keys found no candidate (a title's first words, say).
    var fallbackKinds: Set<String> { get }
    /// The union record to join, or nil to start a new one.
    func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64?
    /// When `choose` found none: a union record the record nearly matched, for a person to decide, with the score.
    func review(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (unionID: Int64, score: Double)?
    /// The evidence of a pair, kept with a record's placement: the score and the per-field findings as JSON.
    func evidence(for keys: [MatchKey], against other: [MatchKey]) -> (score: Double, findings: String)?
    /// `choose`, and when it finds none, `review`.
    func decide(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (join: Int64?, review: (unionID: Int64, score: Double)?)
    /// True when a record with `keys` can neither join nor be reviewed against any cluster that holds a record
    /// with `member`'s keys, whatever the cluster's other records: placement then reads no more of it.
    func rulesOut(_ keys: [MatchKey], clusterWith member: [MatchKey]) -> Bool
    /// The inputs of a record's commonest conflicts in one number, kept on each of its block-key rows, so a
    /// candidate can be ruled out from the row that found it; nil keeps none.
    func conflictSketch(_ keys: [MatchKey]) -> Int64?
    /// True only where ``rulesOut(_:clusterWith:)`` is for records with these sketches: a sketch may miss a
    /// conflict, never make one.
    func sketchesConflict(_ a: Int64, _ b: Int64) -> Bool
}

extension UnionMatcher {
    public func evidence(for keys: [MatchKey], against other: [MatchKey]) -> (score: Double, findings: String)? { nil }

    public func review(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (unionID: Int64, score: Double)? { nil }

    public func rulesOut(_ keys: [MatchKey], clusterWith member: [MatchKey]) -> Bool { false }

    public func conflictSketch(_ keys: [MatchKey]) -> Int64? { nil }

    public func sketchesConflict(_ a: Int64, _ b: Int64) -> Bool { false }

    /// Both answers at once; a matcher whose comparisons are costly computes them in one pass.
    public func decide(for keys: [MatchKey], among candidates: [ClusterCandidate])
        -> (join: Int64?, review: (unionID: Int64, score: Double)?)
    {
        if let join = choose(for: keys, among: candidates) { return (join, nil) }
        return (nil, review(for: keys, among: candidates))
    }
}

/// Every record its own union record: for store tests that are not about matching.
public struct NoMatching: UnionMatcher {
    public init() {}
    public var ruleVersion: String { "none" }
    public var fallbackKinds: Set<String> { [] }
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
