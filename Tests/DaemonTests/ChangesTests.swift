import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// The change feed a member mirrors the catalogue from: every change once, in order, pages that join up.
@Suite("change feed")
struct ChangesTests {
    static func follow(_ daemon: DaemonProcess, from start: Int64) async throws -> [ChangesBody.Change] {
        var since = start
        var all: [ChangesBody.Change] = []
        while true {
            let page = try await daemon.json(ChangesBody.self, "/v1/changes?since=\(since)&limit=7")
            all += page.changes
            if page.changes.isEmpty || page.next >= page.latest { return all }
            since = page.next
        }
    }

    @Test("records, unions, merges, deletions and holdings appear once each, in sequence; an expired since is 410")
    func feed() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = Array(try DaemonSupport.locBooks().prefix(5))
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "a.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try daemon.drop(try DaemonSupport.iso(books), member: "M002", name: "b.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        var changes = try await Self.follow(daemon, from: 0)
        #expect(changes.map(\.seq) == changes.map(\.seq).sorted() && Set(changes.map(\.seq)).count == changes.count)
        #expect(changes.filter { $0.kind == "record-added" }.count == 10)
        #expect(changes.filter { $0.kind == "union-created" }.count == 5 && changes.filter { $0.kind == "union-joined" }.count == 5)
        #expect(changes.first { $0.kind == "union-joined" }?.member == "M002")

        // From where it stopped: only what happened since.
        let mark = changes.last!.seq
        let first = books[0].controlNumber!.trimmingCharacters(in: .whitespaces)
        let second = books[1].controlNumber!.trimmingCharacters(in: .whitespaces)
        #expect(try daemon.ctl("records", "merge", "M001:\(first)", "M001:\(second)").status == 0)
        let deletion = DaemonSupport.rewrite(books[2], controlNumber: books[2].controlNumber!, status: UInt8(ascii: "d"))
        try daemon.drop(try DaemonSupport.iso([deletion]), member: "M002", name: "del.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        try daemon.drop(try DaemonSupport.fixture("folio-mfhd-004.mrc"), member: "M001", name: "mfhd.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        changes = try await Self.follow(daemon, from: mark)
        let kinds = changes.map(\.kind)
        #expect(kinds.contains("override-must") && kinds.contains("record-deleted") && kinds.contains("union-left"), "\(kinds)")
        #expect(changes.filter { $0.kind == "holdings-added" }.count == 4, "\(kinds)")
        #expect(changes.allSatisfy { $0.seq > mark })

        // Entries before 4 pruned: a mirror at 1 must start again; one at 0 reads what is left.
        let pruned = try ProcessRunner.run("sqlite3", [daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", "DELETE FROM changes WHERE seq < 4"])
        #expect(pruned.status == 0, "\(pruned.stderrText)")
        let gone = try await daemon.get("/v1/changes?since=1")
        #expect(gone.status == 410 && gone.text.contains("starts at 4"), "\(gone.text)")
        #expect(try await daemon.get("/v1/changes?since=3").status == 200)
        #expect(try await daemon.get("/v1/changes?since=-1").status == 400)
        #expect(try await daemon.get("/v1/changes?limit=0").status == 400)
    }
}
