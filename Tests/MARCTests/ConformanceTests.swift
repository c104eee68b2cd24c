import CalisdTesting
import Foundation
import Testing

@testable import MARC

/// calisd against independent readers (pymarc, yaz-marcdump) on real LoC records it was not written against.
@Suite("Conformance with pymarc and yaz", .serialized)
struct ConformanceTests {
    static let locFiles = [
        "marc/lc-booksall-2016/booksall-2016-part01-first20000.utf8.mrc",
        "marc/lc-booksall-2016/booksall-2016-part01-cjk-first8000.utf8.mrc",
    ]

    static var oracleScript: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Oracles/marc_oracle.py").path
    }

    /// The records another reader sees, as plain values; nil when that reader is not installed here.
    static func oracle(_ reader: String, format: String, path: String) async throws -> [PlainRecord]? {
        let available = reader == "pymarc" ? ExternalTool.hasPymarc : ExternalTool.find("yaz-marcdump") != nil
        guard available else {
            if ExternalTool.required { Issue.record("\(reader) is not installed; .ci/run installs it") }
            return nil
        }
        let output = try await ProcessRunner.runDetached("python3", [oracleScript, reader, format, path])
        guard output.status == 0 else {
            Issue.record("\(reader) failed on \(path): \(output.stderrText)")
            return []
        }
        return String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))).flatMap(PlainRecord.init(json:))
        }
    }

    static func compare(_ ours: [PlainRecord], _ theirs: [PlainRecord], label: String) -> Int {
        #expect(ours.count == theirs.count, "\(label): calisd read \(ours.count), the other reader \(theirs.count)")
        var differing = 0
        for (index, (left, right)) in zip(ours, theirs).enumerated() where left != right {
            differing += 1
            if differing <= 3 { Issue.record("\(label): record \(index + 1) differs\ncalisd:\n\(left)\nother:\n\(right)") }
        }
        return differing
    }

    @Test(
        "pymarc and yaz read the LoC files to the same leaders, fields, indicators and subfields",
        .enabled(if: SharedData.isAvailable, "needs ../shared/data"), arguments: locFiles)
    func isoAgreesWithOracles(file: String) async throws {
        let path = try #require(SharedData.path(file))
        let ours = try readItems(path: path).map { item in
            #expect(item.diagnostics.isEmpty)
            return PlainRecord(try #require(item.record))
        }
        #expect(ours.count >= 8000)
        for reader in ["pymarc", "yaz"] {
            guard let theirs = try await Self.oracle(reader, format: "iso2709", path: path) else { continue }
            #expect(Self.compare(ours, theirs, label: "\(reader) \(file)") == 0)
        }
    }

    @Test(
        "calisd's MARCXML and MARC-in-JSON, read back by yaz and pymarc, give the same records",
        .enabled(if: SharedData.isAvailable, "needs ../shared/data"), arguments: locFiles)
    func outputReadBackByOracles(file: String) async throws {
        let path = try #require(SharedData.path(file))
        let records = try readItems(path: path).compactMap(\.record)
        let expected = records.map(PlainRecord.init)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-conformance-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (format, name) in [(MARCFormat.marcxml, "out.xml"), (.json, "out.ndjson")] {
            let writer = MARCStreamWriter(format: format)
            var output: [UInt8] = []
            writer.writeHeader(into: &output)
            for record in records { try writer.write(record, into: &output) }
            writer.writeFooter(into: &output)
            let target = directory.appendingPathComponent(name)
            try Data(output).write(to: target)
            let oracleFormat = format == .marcxml ? "marcxml" : "json"
            for reader in ["pymarc", "yaz"] {
                // yaz reads one MARC-in-JSON object per run: it checks the first 1,000 records, one run each.
                let sample = reader == "yaz" && format == .json ? 1_000 : records.count
                var source = target
                if sample < records.count {
                    source = directory.appendingPathComponent("sample-\(name)")
                    var bytes: [UInt8] = []
                    for record in records.prefix(sample) { try writer.write(record, into: &bytes) }
                    try Data(bytes).write(to: source)
                }
                guard let theirs = try await Self.oracle(reader, format: oracleFormat, path: source.path) else { continue }
                let label = "\(reader) reading calisd's \(name) of \(file)"
                #expect(Self.compare(Array(expected.prefix(sample)), theirs, label: label) == 0)
            }
        }
    }
}

/// Every file of the shared corpus is read to its end without a crash or a hang.
@Suite("Shared corpus")
struct CorpusTests {
    @Test("every file under shared/data/marc is read without a crash", .enabled(if: SharedData.isAvailable, "needs ../shared/data"))
    func everyFileReads() async throws {
        let root = try #require(SharedData.path("marc"))
        // Minutes of reading in a debug build: on a thread of its own, not one of the few async tests share.
        let (files, records, problems) = try await onOwnThread { try Self.readAll(root) }
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        #expect(files > 900)
        #expect(records > 40_000)
    }

    /// Files and records read, and each item that carried neither a record nor a diagnostic, or a file that
    /// did not end.
    static func readAll(_ root: String) throws -> (files: Int, records: Int, problems: [String]) {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return (0, 0, ["cannot list \(root)"]) }
        var files = 0
        var records = 0
        var problems: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = "\(root)/\(relative)"
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files += 1
            let opened = try MARCReaders.open(path: path)
            var itemsInFile = 0
            while let item = try opened.reader.next() {
                itemsInFile += 1
                if item.record != nil { records += 1 }
                // Every item carries either a record or a diagnostic saying why not.
                if item.record == nil && item.diagnostics.isEmpty { problems.append("\(relative) item \(item.recordNumber)") }
                if itemsInFile >= 1_000_000 {
                    problems.append("\(relative) does not end")
                    break
                }
            }
        }
        return (files, records, problems)
    }
}
