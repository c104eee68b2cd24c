import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// The worker reads the next file while the commit lane commits the last: many members' files at once, in
/// batches of 20, with one file whose third batch the database refuses.
@Suite("ingest: reading overlaps committing", .serialized)
struct CommitLaneTests {
    @Test("files of six members dropped together all end right: a member's files apply in the order taken, a batch the database refuses fails only its own file, and the catalogue verifies")
    func filesOverlapAndFailAlone() async throws {
        let members = ["M001", "M002", "M003", "M004", "M005", "M006"]
        let daemon = try await DaemonSupport.started(members: members, config: "[ingest]\nsettle_seconds = 1\nbatch_size = 20\n")
        defer { daemon.remove() }
        // The database itself refuses one record, as a full disk or a broken page would: the commit fails.
        let trap = try ProcessRunner.run("sqlite3", [
            daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000",
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON source_records WHEN NEW.local_id = 'BOOM' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ])
        #expect(trap.status == 0, "\(trap.stderrText)")
        let books = try DaemonSupport.locBooks()
        var failing: [MARCRecord] = (0..<60).map { DaemonSupport.rewrite(books[$0 % books.count], controlNumber: "F\($0)") }
        failing[45] = DaemonSupport.rewrite(books[45], controlNumber: "BOOM")

        try daemon.drop(try DaemonSupport.distinctBooks(300, prefix: "A"), member: "M001", name: "first.mrc")
        for member in ["M002", "M003", "M004", "M005"] {
            try daemon.drop(try DaemonSupport.distinctBooks(120, prefix: member), member: member, name: "books.mrc")
        }
        try daemon.drop(try DaemonSupport.iso(failing), member: "M006", name: "trap.mrc")
        // M001's second file changes ten of the first's records: taken after it, it must apply after it.
        try await waitUntil("M001's first file is taken", timeout: .seconds(30)) { daemon.entries(member: "M001").isEmpty }
        let retitled = (0..<10).map { DaemonSupport.rewriteTitle(DaemonSupport.rewrite(books[$0], controlNumber: "A\($0)"), "Retitled \($0)") }
        try daemon.drop(try DaemonSupport.iso(retitled), member: "M001", name: "second.mrc")

        let first = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        #expect(first.first { $0.name == "first.mrc" }?.counts.added == 300)
        let second = first.first { $0.name == "second.mrc" }
        #expect(second?.state == "done" && second?.counts.changed == 10 && second?.counts.added == 0, "\(String(describing: second))")
        for member in ["M002", "M003", "M004", "M005"] {
            let files = try await DaemonSupport.waitForFinished(daemon, member: member, count: 1)
            #expect(files.map(\.state) == ["done"] && files[0].counts.added == 120, "\(member): \(files)")
        }
        let trapped = try await DaemonSupport.waitForFinished(daemon, member: "M006", count: 1)[0]
        #expect(trapped.state == "failed" && trapped.reason?.contains("refused by the test") == true, "\(trapped)")
        // The two batches before the refused one stay committed; the refused one left nothing behind.
        #expect(trapped.counts.added == 40, "\(trapped.counts)")
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M006").records == 40)

        // The lane goes on: the member's next file is ingested.
        try daemon.drop(try DaemonSupport.distinctBooks(30, prefix: "G"), member: "M006", name: "good.mrc")
        let after = try await DaemonSupport.waitForFinished(daemon, member: "M006", count: 2)
        #expect(after.first { $0.name == "good.mrc" }?.state == "done")
        let status = try await DaemonSupport.status(daemon)
        #expect(status.ingest.active == 0 && status.ingest.queued == 0)
        #expect(status.records.source == 300 + 4 * 120 + 40 + 30)
        let verify = try daemon.ctl("verify")
        #expect(verify.status == 0, "\(verify.stdoutText)")
    }
}
