import Store

/// One pair of records compared field by field: what agreed, what conflicted, the score and the decision.
/// The evidence `calisd ctl why` will show; the engine's decisions are made from it and nothing else.
public struct PairComparison: Sendable, Equatable {
    public enum Decision: String, Sendable {
        case match
        case noMatch = "no-match"
    }

    public struct Finding: Sendable, Equatable {
        public var field: String
        /// "agree", "differ", "conflict" (a veto) or "similar".
        public var verdict: String
        public var weight: Double
    }

    public static let ruleVersion = "engine-2"
    /// The score a pair without a conflict needs to match; set on the Goldfinch validation pairs for precision.
    public static let threshold = 4.0

    public var findings: [Finding] = []
    public var score = 0.0
    public var vetoed = false

    public var decision: Decision { !vetoed && score >= Self.threshold ? .match : .noMatch }

    /// How far below the threshold a pair with agreeing titles and no conflict is still worth a person's look.
    public static let reviewMargin = 2.0

    /// No match, but close: no conflict, titles that agree or are similar, and a score within the margin.
    public var isNearMiss: Bool {
        !vetoed && score < Self.threshold && score >= Self.threshold - Self.reviewMargin
            && findings.contains { $0.field == "title" && $0.verdict != "differ" }
    }

    static let identifierKinds: Set<String> = ["isbn", "issn", "lccn", "oclc", "csbn", "sysno"]

    public init(_ a: [MatchKey], _ b: [MatchKey]) {
        let left = Keys(a)
        let right = Keys(b)
        // Explicit, normalised conflicts: never merged, whatever else agrees.
        for field in ["material", "language"] {
            if let x = left.first(field), let y = right.first(field), x != y { veto(field) }
        }
        // Parts and editions may be given in two scripts: only comparable forms that all differ conflict.
        for field in ["part", "edition"] where Self.compare(left.all(field), right.all(field)) == false { veto(field) }

        // Two records that both carry ISBNs (or OCLC numbers) and share none are different manifestations:
        // hardback and paperback, two books with one title. Different LCCNs count against, less strongly.
        for kind in ["isbn", "oclc"] {
            let x = Set(left.all(kind))
            let y = Set(right.all(kind))
            if !x.isEmpty && !y.isEmpty && x.isDisjoint(with: y) { veto(kind) }
        }
        if vetoed { return }
        let lccnsDiffer = !left.all("lccn").isEmpty && !right.all("lccn").isEmpty
            && Set(left.all("lccn")).isDisjoint(with: Set(right.all("lccn")))

        let sharesIdentifier = !left.values(in: Self.identifierKinds).isDisjoint(with: right.values(in: Self.identifierKinds))
        if Self.isSerial(left) || Self.isSerial(right) {
            compareSerials(left, right, sharesIdentifier: sharesIdentifier)
            return
        }
        if sharesIdentifier { add("identifier", "agree", 3) }
        if lccnsDiffer { add("lccn", "differ", -3) }
        var similarity = Self.titleSimilarity(left, right)
        if similarity < 0.9 && !Set(left.all("pinyin")).isDisjoint(with: Set(right.all("pinyin"))) {
            // A romanised title against a vernacular one: the same pinyin is strong, not certain (homophones).
            similarity = 0.9
        }
        if similarity >= 0.8 {
            add("title", similarity == 1 ? "agree" : "similar", 3 * (similarity - 0.8) / 0.2)
        } else {
            add("title", "differ", -5)
        }
        var yearsDiffer = false
        if let x = left.first("year").flatMap(Int.init), let y = right.first("year").flatMap(Int.init) {
            yearsDiffer = x != y
            let gap = abs(x - y)
            add("year", x == y ? "agree" : "differ", x == y ? 2 : (gap <= 1 ? -1 : -3))
        }
        var publishersDiffer = false
        if let same = Self.compare(left.all("publisher"), right.all("publisher")) {
            publishersDiffer = !same
            add("publisher", same ? "agree" : "differ", same ? 1 : -1)
        }
        var extentsDiffer = false
        if let x = left.first("extent"), let y = right.first("extent") {
            if let pagesX = Int(x), let pagesY = Int(y) {
                // Counts of pages move with how plates and preliminaries are counted: within 10 % is no evidence
                // either way.
                let gap = abs(pagesX - pagesY)
                extentsDiffer = Self.pagesDiffer(pagesX, pagesY)
                add("extent", gap <= 2 ? "agree" : (extentsDiffer ? "differ" : "similar"), gap <= 2 ? 2 : (extentsDiffer ? -2 : 0))
            } else if x.hasSuffix("v") && y.hasSuffix("v") {
                // Volumes: a different count is a different set, as a different part is.
                if x == y { add("extent", "agree", 2) } else { veto("volumes") }
            } else if x != "1v" && y != "1v" {
                // A set of volumes against a count of pages: one volume, or another book.
                extentsDiffer = true
                add("extent", "differ", -2)
            }
        }
        if let same = Self.compare(left.all("author"), right.all("author")) {
            add("author", same ? "agree" : "differ", same ? 1 : -1.5)
        }
        // A different year is evidence, not a veto, unless the publisher or the extent differs too.
        if yearsDiffer && (publishersDiffer || extentsDiffer) { veto("year+imprint") }
        // Chinese rare books (古籍, before 1912) are copy-specific: an identifier, or title, author, publisher and
        // extent all agreeing, or nothing.
        if !vetoed && (Self.isRareChinese(left) || Self.isRareChinese(right)) && !sharesIdentifier {
            let strong = ["title", "author", "publisher", "extent"].allSatisfy { field in
                findings.contains { $0.field == field && $0.verdict == "agree" }
            }
            if !strong { veto("rare-book") }
        }
    }

    /// Serials match on ISSN (or ISSN-L) or key title, never across a title change.
    private mutating func compareSerials(_ left: Keys, _ right: Keys, sharesIdentifier: Bool) {
        let leftTitles = Set(left.all("title") + left.all("keytitle"))
        let rightTitles = Set(right.all("title") + right.all("keytitle"))
        if !leftTitles.isDisjoint(with: Set(right.all("related-title")))
            || !rightTitles.isDisjoint(with: Set(left.all("related-title")))
        {
            veto("title-change")
            return
        }
        if sharesIdentifier {
            add("issn", "agree", Self.threshold)
        } else if let x = left.first("keytitle"), let y = right.first("keytitle"), x == y {
            add("keytitle", "agree", Self.threshold)
        } else {
            add("issn/keytitle", "differ", -Self.threshold)
        }
    }

    /// True when the two sides share a value, false when they have values in a comparable script and share none,
    /// nil when there is nothing to compare (a side without values, or only a romanisation against a vernacular).
    static func compare(_ left: [String], _ right: [String]) -> Bool? {
        guard !left.isEmpty, !right.isEmpty else { return nil }
        if !Set(left).isDisjoint(with: Set(right)) { return true }
        let leftScripts = Set(left.map(Attributes.script(of:)))
        let rightScripts = Set(right.map(Attributes.script(of:)))
        return leftScripts.isDisjoint(with: rightScripts) ? nil : false
    }

    /// Counts of pages that differ by more than 2 and more than 10 %: evidence of another book.
    static func pagesDiffer(_ x: Int, _ y: Int) -> Bool {
        let gap = abs(x - y)
        return gap > 2 && Double(gap) > 0.10 * Double(max(x, y))
    }

    static func isSerial(_ keys: Keys) -> Bool {
        guard let material = keys.first("material"), material.count == 2 else { return false }
        return material.hasSuffix("s")
    }

    static func isRareChinese(_ keys: Keys) -> Bool {
        guard keys.first("language") == "chi", let year = keys.first("year").flatMap(Int.init) else { return false }
        return year < 1912
    }

    private mutating func add(_ field: String, _ verdict: String, _ weight: Double) {
        findings.append(Finding(field: field, verdict: verdict, weight: weight))
        score += weight
    }

    private mutating func veto(_ field: String) {
        findings.append(Finding(field: field, verdict: "conflict", weight: 0))
        vetoed = true
    }

    /// 1 for equal titles proper; otherwise the best ``similarity(_:_:)`` of the titles, with or without subtitles.
    static func titleSimilarity(_ left: Keys, _ right: Keys) -> Double {
        let a = Set(left.all("title"))
        let b = Set(right.all("title"))
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        if !a.isDisjoint(with: b) { return 1 }
        var best = 0.0
        for x in a {
            for y in b { best = max(best, similarity(x, y)) }
        }
        for x in left.all("titlefull") {
            for y in right.all("titlefull") { best = max(best, similarity(x, y)) }
        }
        return best
    }

    /// The better of word containment (a title with or without its subtitle) and the Dice coefficient of
    /// character bigrams (spelling and transcription), capped when each side has words the other lacks — more
    /// than a misspelling explains, as in the parts of a series of hearings that share a long beginning.
    static func similarity(_ x: String, _ y: String) -> Double {
        let wordsX = Set(x.split(separator: " "))
        let wordsY = Set(y.split(separator: " "))
        var similarity = dice(x, y)
        if min(wordsX.count, wordsY.count) >= 3 {
            similarity = max(similarity, Double(wordsX.intersection(wordsY).count) / Double(min(wordsX.count, wordsY.count)))
        }
        if wordsX.subtracting(wordsY).count >= 2 && wordsY.subtracting(wordsX).count >= 2 { similarity = min(similarity, 0.7) }
        return similarity
    }

    static func dice(_ x: String, _ y: String) -> Double {
        func bigrams(_ text: String) -> [UInt64: Int] {
            let scalars = text.unicodeScalars.filter { $0 != " " }.map(\.value)
            var counts: [UInt64: Int] = [:]
            for index in scalars.indices.dropLast() {
                counts[UInt64(scalars[index]) << 32 | UInt64(scalars[index + 1]), default: 0] += 1
            }
            return counts
        }
        let a = bigrams(x)
        let b = bigrams(y)
        let total = a.values.reduce(0, +) + b.values.reduce(0, +)
        guard total > 0 else { return 0 }
        let shared = a.reduce(0) { $0 + min($1.value, b[$1.key] ?? 0) }
        return 2 * Double(shared) / Double(total)
    }
}

/// A record's keys by kind.
struct Keys {
    private var byKind: [String: [String]] = [:]

    init(_ keys: [MatchKey]) {
        for key in keys { byKind[key.kind, default: []].append(key.value) }
    }

    func first(_ kind: String) -> String? { byKind[kind]?.first }

    func all(_ kind: String) -> [String] { byKind[kind] ?? [] }

    /// Values of several kinds, each prefixed with its kind, so an ISBN never equals an LCCN.
    func values(in kinds: Set<String>) -> Set<String> {
        var values: Set<String> = []
        for kind in kinds { values.formUnion((byKind[kind] ?? []).map { kind + ":" + $0 }) }
        return values
    }
}
