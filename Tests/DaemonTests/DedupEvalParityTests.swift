import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// `calisd dedup eval` and the daemon run the same pipeline and matcher: the same files give the same clusters.
@Suite("dedup eval and the daemon agree")
struct DedupEvalParityTests {
    @Test("the same files through dedup eval and through a running daemon's drop folders give the same clusters")
    func sameClusters() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-parity-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Member A: 50 LoC books and 20 CJK records; member B: the same books in reverse order under other local ids.
        let books = try DaemonSupport.locBooks()
        var a = try DaemonSupport.iso(books)
        a += try DaemonSupport.fixture("loc-cjk-20.mrc")
        let b = try DaemonSupport.iso(books.reversed().map { DaemonSupport.rewrite($0, controlNumber: "B" + $0.controlNumber!.trimmingCharacters(in: .whitespaces)) })
        try Data(a).write(to: scratch.appendingPathComponent("A.mrc"))
        try Data(b).write(to: scratch.appendingPathComponent("B.mrc"))
        let labels = scratch.appendingPathComponent("labels.csv")
        try "id1,id2,label\n".write(to: labels, atomically: true, encoding: .utf8)

        let catalogue = scratch.appendingPathComponent("eval").path
        let eval = try ProcessRunner.run(DaemonSupport.binary, [
            "dedup", "eval", "--json", "--keep", catalogue, "--pairs", labels.path,
            scratch.appendingPathComponent("A.mrc").path, scratch.appendingPathComponent("B.mrc").path,
        ])
        #expect(eval.status == 0, "\(eval.stderrText)")
        let rows = try ProcessRunner.run("sqlite3", [
            catalogue + "/catalogue.sqlite",
            "SELECT s.member || ':' || s.local_id, c.union_id FROM source_records s JOIN cluster_members c ON c.source_id = s.id",
        ])
        var evalUnions: [String: String] = [:]
        for line in rows.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: "|")
            evalUnions[String(parts[0])] = String(parts[1])
        }
        #expect(evalUnions.count == 120)

        let daemon = try await DaemonSupport.started(members: ["A", "B"])
        defer { daemon.remove() }
        try daemon.drop(a, member: "A", name: "A.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "A", count: 1)
        try daemon.drop(b, member: "B", name: "B.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "B", count: 1)
        var daemonUnions: [String: String] = [:]
        for key in evalUnions.keys {
            let parts = key.split(separator: ":", maxSplits: 1)
            let id = String(parts[1]).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            daemonUnions[key] = try await daemon.json(SourceRecordBody.self, "/v1/members/\(parts[0])/records/\(id)").unionID
        }
        // The same partition: two records share a union record in one run exactly when they do in the other.
        func partition(_ unions: [String: String]) -> Set<Set<String>> {
            Set(Dictionary(grouping: unions.keys, by: { unions[$0]! }).values.map(Set.init))
        }
        #expect(partition(evalUnions) == partition(daemonUnions))
        #expect(partition(daemonUnions).filter { $0.count == 2 }.count >= 45, "the books of A and B should mostly pair up")
    }
}
