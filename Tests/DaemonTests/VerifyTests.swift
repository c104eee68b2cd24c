import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// `calisd ctl verify` against a running daemon: a catalogue after merges and deletions is consistent; one
/// damaged behind calisd's back is reported, with exit 65.
@Suite("calisd ctl verify")
struct VerifyTests {
    @Test("a catalogue after ingest, a merge and a deletion verifies; a record taken out of its union record behind calisd's back does not")
    func verify() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = Array(try DaemonSupport.locBooks().prefix(6))
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "a.mrc")
        try daemon.drop(try DaemonSupport.iso(books), member: "M002", name: "b.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let first = books[0].controlNumber!.trimmingCharacters(in: .whitespaces)
        let second = books[1].controlNumber!.trimmingCharacters(in: .whitespaces)
        #expect(try daemon.ctl("records", "merge", "M001:\(first)", "M001:\(second)").status == 0)
        let deletion = DaemonSupport.rewrite(books[2], controlNumber: books[2].controlNumber!, status: UInt8(ascii: "d"))
        try daemon.drop(try DaemonSupport.iso([deletion]), member: "M001", name: "d.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)

        let good = try daemon.ctl("verify")
        #expect(good.status == 0 && good.stdoutText.contains("the catalogue is consistent"), "\(good.stdoutText)\(good.stderrText)")
        #expect(!good.stdoutText.contains("FAILED"))
        #expect(good.stdoutText.contains("every record's block keys find its union record"), "\(good.stdoutText)")

        let damage = try ProcessRunner.run("sqlite3", [
            daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000",
            "DELETE FROM cluster_members WHERE source_id = (SELECT max(source_id) FROM cluster_members)",
        ])
        #expect(damage.status == 0, "\(damage.stderrText)")
        let bad = try daemon.ctl("verify")
        #expect(bad.status == 65, "\(bad.stdoutText)")
        #expect(bad.stdoutText.contains("FAILED") && bad.stdoutText.contains("1 active source records in no union record"), "\(bad.stdoutText)")
        let json = try JSONDecoder().decode(VerifyBody.self, from: try daemon.ctl("verify", "--json").stdout)
        #expect(!json.ok && json.checks.contains { !$0.ok && $0.name == "every active source record is in a union record" })

        // A block key pointing at another union record would hide a record's cluster from later candidates.
        let misdirected = try ProcessRunner.run("sqlite3", [
            daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000",
            "UPDATE block_keys SET union_id = union_id + 1000 WHERE source_id = (SELECT min(source_id) FROM cluster_members)",
        ])
        #expect(misdirected.status == 0, "\(misdirected.stderrText)")
        let worse = try daemon.ctl("verify")
        #expect(worse.status == 65 && worse.stdoutText.contains("index rows naming another union record than their record's"), "\(worse.stdoutText)")
        // M002's copy joined through M001's rows and wrote none: its keys no longer reach its cluster either.
        #expect(worse.stdoutText.contains("keys reach no row naming their record's union record"), "\(worse.stdoutText)")
    }
}

extension VerifyTests {
    @Test("after a restart, a service fills the block keys from before conflict sketches and logs it; then the catalogue verifies")
    func sketchesFilledWhileServing() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = Array(try DaemonSupport.locBooks().prefix(20))
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "a.mrc")
        try daemon.drop(try DaemonSupport.iso(Array(books.prefix(10))), member: "M002", name: "b.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        #expect(try await daemon.stop() == 0)
        let catalogue = daemon.stateDirectory + "/catalogue.sqlite"
        // As a catalogue from before migration 0019 is after it.
        let aged = try ProcessRunner.run("sqlite3", [
            catalogue, "UPDATE block_keys SET conflict_sketch = NULL; INSERT INTO conflict_sketch_fill (pending) VALUES (1)",
        ])
        #expect(aged.status == 0, "\(aged.stderrText)")
        try await daemon.start()
        #expect(try await DaemonSupport.status(daemon).records.source == 30)
        try await waitUntil("the conflict sketches are filled", timeout: .seconds(60)) {
            daemon.log.contains("conflict sketches filled for existing block keys")
        }
        let left = try ProcessRunner.run("sqlite3", [
            catalogue, ".timeout 10000",
            "SELECT count(*) FROM block_keys WHERE conflict_sketch IS NULL; SELECT count(*) FROM conflict_sketch_fill; SELECT count(*) > 0 FROM block_keys",
        ])
        #expect(left.stdoutText == "0\n0\n1\n", "\(left.stdoutText)\(left.stderrText)")
        let verified = try daemon.ctl("verify")
        #expect(verified.status == 0 && verified.stdoutText.contains("every block key's conflict sketch is its record's"), "\(verified.stdoutText)")
    }
}
