import ArgumentParser
import Dedup
import Foundation
import Ingest
import Logging
import MARC
import Store

/// `calisd dedup eval`: the real ingest and matching pipeline on labelled records, scored on their pairs.
struct DedupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup", abstract: "Measure deduplication on labelled records.", subcommands: [DedupEval.self])
}

struct DedupEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Ingest labelled records into a scratch catalogue and report precision, recall and F1.",
        discussion: """
            Each FILE (any format calisd reads) is ingested as one member, named after the file, through the same \
            pipeline and matcher the daemon runs, into an on-disk scratch catalogue. A field tagged CID (a cluster \
            label, in the Goldfinch files) is removed before ingest. Only then is LABELS.csv read: id1,id2,label \
            over 001 values; a pair is matched when both records end in the same union record.
            """)

    @Option(name: .long, help: "The labelled pairs: id1,id2,label (1 = same manifestation).") var pairs: String
    @Flag(name: .long, help: "Print JSON for scripts.") var json = false
    @Option(name: .long, help: "Keep the scratch catalogue in this folder (default: a temporary one, removed).") var keep: String?
    @Option(name: .long, help: "How many false merges and missed matches to list.") var show = 10
    @Argument(help: "The labelled records.") var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file of records") }
    }

    func run() throws {
        let scratch = keep ?? NSTemporaryDirectory() + "calisd-eval-\(getpid())"
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: scratch) } }
        let evaluation: Evaluation
        do {
            evaluation = try Evaluation(scratch: scratch, files: files)
        } catch {
            StandardError.write("calisd: \(error)")
            throw ExitCode(CalisdExit.dataError)
        }
        let labels: [(String, String, Bool)]
        do {
            labels = try Self.readLabels(pairs)
        } catch {
            StandardError.write("calisd: \(error)")
            throw ExitCode(CalisdExit.dataError)
        }
        let score = evaluation.score(labels)
        if json {
            let body: [String: Any] = [
                "precision": score.precision, "recall": score.recall, "f1": score.f1, "tp": score.tp, "fp": score.fp,
                "fn": score.fn, "tn": score.tn, "union_records": evaluation.unionRecords, "records": evaluation.records,
                "unlabelled_ids": score.missing, "rule_version": PairComparison.ruleVersion,
            ]
            let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("records \(evaluation.records) in \(evaluation.unionRecords) union records (rules \(PairComparison.ruleVersion))")
        print(String(format: "precision %.4f  recall %.4f  F1 %.4f", score.precision, score.recall, score.f1))
        print("tp \(score.tp)  fp \(score.fp)  fn \(score.fn)  tn \(score.tn)" + (score.missing > 0 ? "  (\(score.missing) pairs name unknown ids)" : ""))
        if !score.falseMerges.isEmpty { print("\nfalse merges (labelled different, put together):") }
        for (a, b) in score.falseMerges.prefix(show) { print("  \(a) | \(b)\n    \(evaluation.title(a))\n    \(evaluation.title(b))") }
        if !score.missedMatches.isEmpty { print("\nmissed matches (labelled the same, kept apart):") }
        for (a, b) in score.missedMatches.prefix(show) { print("  \(a) | \(b)\n    \(evaluation.title(a))\n    \(evaluation.title(b))") }
    }

    static func readLabels(_ path: String) throws -> [(String, String, Bool)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var labels: [(String, String, Bool)] = []
        for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if number == 0 && cells.first == "id1" { continue }
            guard cells.count == 3, cells[2] == "0" || cells[2] == "1" else {
                throw ValidationError("\(path):\(number + 1): expected id1,id2,label with label 0 or 1")
            }
            labels.append((cells[0], cells[1], cells[2] == "1"))
        }
        return labels
    }
}

/// A scratch catalogue holding the labelled files, ingested as the daemon would.
struct Evaluation {
    struct Score {
        var tp = 0, fp = 0, fn = 0, tn = 0, missing = 0
        var falseMerges: [(String, String)] = []
        var missedMatches: [(String, String)] = []
        var precision: Double { tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp) }
        var recall: Double { tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn) }
        var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    }

    let store: CatalogStore
    /// Local id → (member, union record), over every file.
    var unions: [String: (member: String, union: Int64)] = [:]
    var records = 0
    var unionRecords = 0

    init(scratch: String, files: [String]) throws {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        store = try CatalogStore(path: scratch + "/catalogue.sqlite")
        let settings = IngestSettings(stateDirectory: scratch + "/state", dropDirectory: scratch + "/drop")
        let ingestor = FileIngestor(
            store: store, settings: settings, matcher: EngineMatcher(), keys: { MatchKeyExtractor.keys(of: $0) },
            status: IngestStatus(), live: LiveSettings(.init(withdrawalGuard: 1, adminGroup: "", maximumUploadBytes: 0)),
            logger: Logger(label: "calisd.eval", factory: { _ in SwiftLogNoOpLogHandler() }))
        for file in files {
            let name = (file as NSString).lastPathComponent
            let member = Self.memberCode(name)
            if try store.member(code: member) == nil { _ = try store.addMember(code: member, name: name) }
            try FileManager.default.createDirectory(atPath: settings.dropDirectory + "/" + member, withIntermediateDirectories: true)
            let spool = settings.stateDirectory + "/spool/" + member
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
            let stripped = spool + "/" + StateFolders.uniqueName(for: name)
            records += try Self.stripClusterLabels(file, to: stripped)
            let id = try ingestor.register(spooled: stripped, member: member, name: name)
            _ = try ingestor.process(fileID: id)
            for (localID, union) in try store.unionIDs(member: member) { unions[localID] = (member, union) }
        }
        unionRecords = try store.counts().unionRecords
    }

    /// The file name up to its first dot, as a member code.
    static func memberCode(_ name: String) -> String {
        let stem = name.split(separator: ".").first.map(String.init) ?? name
        let code = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" }.prefix(32))
        return code.isEmpty ? "EVAL" : code
    }

    /// Copies the records without their CID fields, as ISO 2709.
    static func stripClusterLabels(_ path: String, to target: String) throws -> Int {
        let reader = try MARCReaders.open(path: path).reader
        var output: [UInt8] = []
        var count = 0
        while let item = try reader.next() {
            guard let record = item.record else { continue }
            var copy = MARCRecord(leader: record.leader)
            for field in record.fields where field.tag.string != "CID" { copy.append(field) }
            try ISO2709Writer.write(copy, into: &output)
            count += 1
        }
        guard FileManager.default.createFile(atPath: target, contents: Data(output)) else {
            throw ValidationError("cannot write \(target)")
        }
        return count
    }

    func score(_ labels: [(String, String, Bool)]) -> Score {
        var score = Score()
        for (a, b, same) in labels {
            guard let x = unions[a], let y = unions[b] else {
                score.missing += 1
                continue
            }
            let together = x.union == y.union
            switch (same, together) {
            case (true, true): score.tp += 1
            case (false, true):
                score.fp += 1
                score.falseMerges.append((a, b))
            case (true, false):
                score.fn += 1
                score.missedMatches.append((a, b))
            case (false, false): score.tn += 1
            }
        }
        return score
    }

    func title(_ localID: String) -> String {
        guard let member = unions[localID]?.member, let record = try? store.sourceRecord(member: member, localID: localID),
            let item = try? MARCReaders.open(bytes: record.record).reader.next(), let parsed = item.record
        else { return "?" }
        let title = parsed.first("245")?.subfields.map(\.value).joined(separator: " ") ?? parsed.first("200")?.subfields.map(\.value).joined(separator: " ") ?? "?"
        let imprint = (parsed.first("260") ?? parsed.first("264"))?.subfields.map(\.value).joined(separator: " ") ?? ""
        return title + (imprint.isEmpty ? "" : " — " + imprint)
    }
}
