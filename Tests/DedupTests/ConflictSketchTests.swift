@testable import Dedup
import Foundation
import GRDB
import MARC
import Store
import Synchronization
import Testing

/// The conflict sketch on block-key rows rules candidates out without reading them; it must never rule out one
/// the full comparison would not, or a record would miss its match.
@Suite("conflict sketches")
struct ConflictSketchTests {
    static let cjkSet = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Benchmarks/dedup-cjk")

    /// The 2,593 records of the CJK/CNMARC benchmark (LoC, MARC21, CNMARC and negatives), as read from the repository.
    static func benchmarkRecords() throws -> [MARCRecord] {
        var records: [MARCRecord] = []
        for name in ["LOC", "M21", "CNM", "NEG"] {
            let reader = try MARCReaders.open(path: cjkSet.appendingPathComponent("\(name).mrc.gz").path).reader
            while let item = try reader.next() { if let record = item.record { records.append(record) } }
        }
        return records
    }

    static func sketch(_ keys: [MatchKey]) -> Int64 { EngineMatcher().conflictSketch(keys)! }

    @Test("on real records, a sketch conflict is always a veto of the full comparison, and it finds most ISBN conflicts")
    func sketchConflictIsAlwaysAVeto() throws {
        let matcher = EngineMatcher()
        let keys = try Self.benchmarkRecords().map { MatchKeyExtractor.keys(of: $0) }
        #expect(keys.count == 2_593)
        // The pairs placement meets (records sharing a block key) and, as many, pairs of unrelated records.
        var pairs: Set<[Int]> = []
        var blocks: [Int64: [Int]] = [:]
        for (index, record) in keys.enumerated() {
            for key in matcher.blockingKeys(record) { blocks[key.blockHash, default: []].append(index) }
        }
        for members in blocks.values {
            for a in members.prefix(40) { for b in members.prefix(40) where a < b { pairs.insert([a, b]) } }
        }
        let blockPairs = pairs.count
        for a in stride(from: 0, to: keys.count, by: 9) { for b in stride(from: 4, to: keys.count, by: 13) where a != b { pairs.insert([a, b]) } }
        var vetoes = 0
        var caught = 0
        var isbnVetoes = 0
        var isbnCaught = 0
        var wrong: [String] = []
        for pair in pairs {
            let (x, y) = (keys[pair[0]], keys[pair[1]])
            let comparison = PairComparison(x, y)
            let conflicts = matcher.sketchesConflict(Self.sketch(x), Self.sketch(y))
            #expect(conflicts == matcher.sketchesConflict(Self.sketch(y), Self.sketch(x)))
            if comparison.vetoed { vetoes += 1 }
            if conflicts && comparison.vetoed { caught += 1 }
            if conflicts && !comparison.vetoed && wrong.count < 5 { wrong.append("\(x) / \(y): \(comparison.findings)") }
            if comparison.findings.contains(where: { $0.field == "isbn" && $0.verdict == "conflict" }) {
                isbnVetoes += 1
                if conflicts { isbnCaught += 1 }
            }
        }
        #expect(wrong.isEmpty, "sketches conflicted where the comparison did not veto:\n\(wrong.joined(separator: "\n"))")
        #expect(blockPairs > 1_000 && vetoes > 10_000, "\(blockPairs) block pairs, \(vetoes) vetoes")
        // A 14-bit mask misses two one-ISBN records only when their ISBNs take the same bit (1 in 14).
        #expect(isbnVetoes > 1_000 && Double(isbnCaught) >= 0.85 * Double(isbnVetoes), "\(isbnCaught) of \(isbnVetoes) ISBN conflicts")
        #expect(Double(caught) >= 0.85 * Double(vetoes), "\(caught) of \(vetoes) vetoes caught")
    }

    @Test("what a sketch rules out: another material, language, ISBN set, count of volumes, or year with count of pages")
    func sketchCatches() {
        let base = EngineTests.book(title: "The water world", year: "1999", pages: "284 p.", isbn: "9780306406157")
        let caught: [(String, [MatchKey])] = [
            ("material", EngineTests.book(title: "The water world", year: "1999", pages: "284 p.", type: "em", isbn: "9780306406157")),
            ("language", EngineTests.book(title: "The water world", year: "1999", pages: "284 p.", language: "fre", isbn: "9780306406157")),
            ("isbn", EngineTests.book(title: "The water world", year: "1999", pages: "284 p.", isbn: "9781861972712")),
            ("year+imprint", EngineTests.book(title: "The water world", year: "2005", pages: "412 p.")),
        ]
        for (field, other) in caught {
            let comparison = PairComparison(base, other)
            #expect(comparison.findings.contains { $0.field == field && $0.verdict == "conflict" }, "\(field): \(comparison.findings)")
            #expect(EngineMatcher().sketchesConflict(Self.sketch(base), Self.sketch(other)), "\(field)")
        }
        let set = EngineTests.book(title: "Collected works", pages: "3 v.")
        #expect(EngineMatcher().sketchesConflict(Self.sketch(set), Self.sketch(EngineTests.book(title: "Collected works", pages: "5 v."))))
    }

    @Test("what a sketch leaves to the comparison: the same ISBN, a year alone, pages within 10 %, serials, publishers")
    func sketchLeaves() {
        let matcher = EngineMatcher()
        let base = EngineTests.book(title: "The water world", year: "1999", pages: "284 p.", isbn: "9780306406157")
        let left: [[MatchKey]] = [
            // The same ISBN in its ten-digit form.
            EngineTests.book(title: "Another title", year: "1999", pages: "284 p.", isbn: "0306406152"),
            // A reprint: another year, the same extent within 10 %.
            EngineTests.book(title: "The water world", year: "2001", pages: "290 p."),
            // No year, no extent, no ISBN: nothing to rule on.
            EngineTests.book(title: "The water world", year: "    ", pages: nil),
        ]
        for other in left { #expect(!matcher.sketchesConflict(Self.sketch(base), Self.sketch(other)), "\(other)") }
        // Another publisher and year veto, but publishers are compared by script and are not sketched.
        let publisher = EngineTests.book(title: "The water world", year: "2005", publisher: "Longmans,", pages: "284 p.")
        #expect(PairComparison(base, publisher).vetoed && !matcher.sketchesConflict(Self.sketch(base), Self.sketch(publisher)))
        // Serials are compared by ISSN and key title: a year and an extent are no conflict there.
        let serialA = EngineTests.book(title: "Annual report", year: "1999", pages: "284 p.", type: "as")
        let serialB = EngineTests.book(title: "Annual report", year: "2005", pages: "412 p.", type: "as")
        #expect(!PairComparison(serialA, serialB).vetoed && !matcher.sketchesConflict(Self.sketch(serialA), Self.sketch(serialB)))
        #expect(NoMatching().conflictSketch(base) == nil)
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// The engine, counting the master comparisons placement makes: each is a master's record read from the catalogue.
private struct CountingMatcher: UnionMatcher {
    let engine = EngineMatcher()
    let sketches: Bool
    let masterComparisons = Counter()

    var ruleVersion: String { engine.ruleVersion }
    var fallbackKinds: Set<String> { engine.fallbackKinds }
    func blockingKeys(_ keys: [MatchKey]) -> [MatchKey] { engine.blockingKeys(keys) }
    func choose(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> Int64? { engine.choose(for: keys, among: candidates) }
    func decide(for keys: [MatchKey], among candidates: [ClusterCandidate]) -> (join: Int64?, review: (unionID: Int64, score: Double)?) {
        engine.decide(for: keys, among: candidates)
    }
    func evidence(for keys: [MatchKey], against other: [MatchKey]) -> (score: Double, findings: String)? {
        engine.evidence(for: keys, against: other)
    }
    func rulesOut(_ keys: [MatchKey], clusterWith member: [MatchKey]) -> Bool {
        masterComparisons.value.add(1, ordering: .relaxed)
        return engine.rulesOut(keys, clusterWith: member)
    }
    func conflictSketch(_ keys: [MatchKey]) -> Int64? { sketches ? engine.conflictSketch(keys) : nil }
    func sketchesConflict(_ a: Int64, _ b: Int64) -> Bool { engine.sketchesConflict(a, b) }
}

extension ConflictSketchTests {
    /// Each record of the benchmark from one of four members, a batch of 100 at a time, each batch a second
    /// later: a master is chosen by time too, so two loads decide alike only on the same clock.
    static func load(_ records: [MARCRecord], into store: CatalogStore, matcher: any UnionMatcher) throws {
        let members = ["A", "B", "C", "D"]
        for code in members { _ = try store.addMember(code: code, name: code) }
        let numbered = records.enumerated().map { (member: members[$0.offset % 4], record: $0.element, id: "r\($0.offset)") }
        var now: Int64 = 1_700_000_000
        for member in members {
            let mine = numbered.filter { $0.member == member }
            for start in stride(from: 0, to: mine.count, by: 100) {
                let batch = try mine[start..<min(start + 100, mine.count)].map { try EngineTests.incoming($0.record, id: $0.id) }
                let file = try store.beginFile(member: member, name: "f\(start)", sha256: "\(start)", size: 0, mode: "incremental")
                now += 1
                _ = try store.commitBatch(fileID: file, member: member, records: batch, progress: batch.count, matcher: matcher, now: now)
            }
        }
    }

    /// Which records share a union record, as sets of member and local id, independent of the ids given.
    static func clusters(_ store: CatalogStore) throws -> Set<Set<String>> {
        let rows = try store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT cm.union_id, s.member || ':' || s.local_id FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id")
        }
        var byUnion: [Int64: Set<String>] = [:]
        for row in rows { byUnion[row[0], default: []].insert(row[1]) }
        return Set(byUnion.values)
    }

    @Test("placement with sketches makes the same union records as without, on 2,593 real records, and compares fewer masters")
    func sketchesKeepPlacement() throws {
        let records = try Self.benchmarkRecords()
        let with = CountingMatcher(sketches: true)
        let without = CountingMatcher(sketches: false)
        let sketched = try CatalogStore.inMemory()
        let plain = try CatalogStore.inMemory()
        try Self.load(records, into: sketched, matcher: with)
        try Self.load(records, into: plain, matcher: without)
        let (a, b) = (try Self.clusters(sketched), try Self.clusters(plain))
        #expect(a == b, "only with sketches: \(a.subtracting(b)); only without: \(b.subtracting(a))")
        let (sketchedMasters, plainMasters) = (with.masterComparisons.value.load(ordering: .relaxed), without.masterComparisons.value.load(ordering: .relaxed))
        #expect(sketchedMasters < plainMasters, "master comparisons: \(sketchedMasters) with sketches, \(plainMasters) without")
        let unsketched = try sketched.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM block_keys WHERE conflict_sketch IS NULL") }
        #expect(unsketched == 0)
        let failed = try sketched.verify(matcher: EngineMatcher()).filter { !$0.ok }
        #expect(failed.isEmpty, "\(failed)")
    }

    @Test("rows written before sketches are filled from their records, once; a stopped fill goes on where it stopped; a wrong sketch is what verify reports")
    func fillAndVerify() throws {
        let records = Array(try Self.benchmarkRecords().prefix(400))
        let store = try CatalogStore.inMemory()
        let matcher = EngineMatcher()
        #expect(try store.fillMissingConflictSketches(matcher: matcher) == .init(filled: 0, finished: true), "a new catalogue has nothing to fill")
        try Self.load(records, into: store, matcher: matcher)
        func rows() throws -> [Row] {
            try store.writer.read { db in try Row.fetchAll(db, sql: "SELECT hash, source_id, conflict_sketch FROM block_keys ORDER BY 1, 2") }
        }
        let kept = try rows()
        // As a catalogue from before migration 0019 is after it: rows without sketches, the fill pending.
        try store.writer.write { db in
            try db.execute(sql: "UPDATE block_keys SET conflict_sketch = NULL; INSERT INTO conflict_sketch_fill (pending) VALUES (1)")
        }
        #expect(try store.fillMissingConflictSketches(matcher: matcher) { true } == .init(filled: 0, finished: false))
        // Stopped before the 101st of its 256 slices: about 100/256 of the rows filled, the rest still to do.
        let asked = Counter()
        let stopped = try store.fillMissingConflictSketches(matcher: matcher) { asked.value.add(1, ordering: .relaxed).newValue > 100 }
        #expect(!stopped.finished && stopped.filled > kept.count / 5 && stopped.filled < kept.count * 3 / 5, "\(stopped) of \(kept.count)")
        #expect(try store.conflictSketchesPending())
        let rest = try store.fillMissingConflictSketches(matcher: matcher)
        #expect(rest == .init(filled: kept.count - stopped.filled, finished: true))
        #expect(try rows() == kept)
        #expect(try !store.conflictSketchesPending())
        #expect(try store.fillMissingConflictSketches(matcher: matcher) == .init(filled: 0, finished: true), "filled once")
        #expect(try store.verify(matcher: matcher).allSatisfy(\.ok))
        try store.writer.write { db in
            try db.execute(sql: "UPDATE block_keys SET conflict_sketch = conflict_sketch + 1 WHERE (hash, source_id) = (SELECT hash, source_id FROM block_keys LIMIT 1)")
        }
        let check = try #require(try store.verify(matcher: matcher).first { $0.name == "every block key's conflict sketch is its record's" })
        #expect(!check.ok && check.detail.hasPrefix("1 index rows carry another sketch"), "\(check)")
    }
}

