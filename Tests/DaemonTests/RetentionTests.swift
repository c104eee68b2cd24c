import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

/// `[retention]`: archived files and change-log entries older than the config allows go; what a member's report
/// or a held file needs stays.
@Suite("retention")
struct RetentionTests {
    static func sql(_ daemon: DaemonProcess, _ statement: String) throws -> String {
        let result = try ProcessRunner.run("sqlite3", [daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", statement])
        try #require(result.status == 0, "\(result.stderrText)")
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("files finished longer ago than archive_days leave the archive, their reports stay; old change-log entries go and a mirror asking for them gets 410")
    func prune() async throws {
        let daemon = try await DaemonSupport.started(
            members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[retention]\narchive_days = 30\nchanges_days = 30\n")
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "old.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "new.mrc")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        let old = try #require(files.first { $0.name == "old.mrc" })
        let oldPath = try Self.sql(daemon, "SELECT archive_path FROM files WHERE id = \(old.id)")
        let newPath = try Self.sql(daemon, "SELECT archive_path FROM files WHERE name = 'new.mrc'")
        #expect(FileManager.default.fileExists(atPath: oldPath) && FileManager.default.fileExists(atPath: newPath))

        // Nothing is old enough yet.
        let nothing = try daemon.ctl("--json", "prune")
        #expect(nothing.status == 0, "\(nothing.stderrText)")
        #expect(try JSONDecoder().decode(PruneBody.self, from: nothing.stdout) == PruneBody(archivedFiles: 0, bytes: 0, changes: 0))

        // Forty days pass for the first file and for the change log's first entries.
        let latest = try Self.sql(daemon, "SELECT max(seq) FROM changes")
        _ = try Self.sql(daemon, "UPDATE files SET finished_at = finished_at - 40 * 86400 WHERE id = \(old.id)")
        _ = try Self.sql(daemon, "UPDATE changes SET at = at - 40 * 86400 WHERE seq <= 60")
        let pruned = try daemon.ctl("prune")
        #expect(pruned.status == 0 && pruned.stdoutText.contains("pruned 1 archived file(s)"), "\(pruned.stdoutText)")
        #expect(!FileManager.default.fileExists(atPath: oldPath) && FileManager.default.fileExists(atPath: newPath))
        #expect(try Self.sql(daemon, "SELECT archive_path IS NULL FROM files WHERE id = \(old.id)") == "1")
        #expect(try await daemon.get("/v1/files/\(old.id)/report").status == 200, "the report outlives the archived file")
        #expect(try Self.sql(daemon, "SELECT min(seq) FROM changes") == "61")
        #expect(try Self.sql(daemon, "SELECT max(seq) FROM changes") == latest)
        #expect(try await daemon.get("/v1/changes?since=10").status == 410)
        #expect(try await daemon.get("/v1/changes?since=60").status == 200)
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").records == 70, "records are never pruned")
    }

    @Test("the oldest archived files go while the archive is larger than archive_max_mb")
    func sizeLimit() async throws {
        let daemon = try await DaemonSupport.started(
            members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[retention]\narchive_days = 0\narchive_max_mb = 2\nchanges_days = 0\n")
        defer { daemon.remove() }
        // Three files of about 1.4 MB each (distinct records), one after the other.
        for (index, prefix) in ["A", "B", "C"].enumerated() {
            try daemon.drop(try DaemonSupport.distinctBooks(1_500, prefix: prefix), member: "M001", name: "part\(index).mrc")
            _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: index + 1)
        }
        let sizes = try Self.sql(daemon, "SELECT group_concat(size) FROM (SELECT size FROM files ORDER BY id)")
        let total = sizes.split(separator: ",").compactMap { Int64($0) }
        #expect(total.count == 3 && total.allSatisfy { $0 > 1_000_000 && $0 < 2 << 20 }, "\(sizes)")
        let pruned = try JSONDecoder().decode(PruneBody.self, from: try daemon.ctl("--json", "prune").stdout)
        // 3 files over 2 MiB: the two oldest go, the newest (under the limit alone) stays.
        #expect(pruned.archivedFiles == 2 && pruned.changes == 0, "\(pruned)")
        #expect(try Self.sql(daemon, "SELECT group_concat(archive_path IS NULL) FROM (SELECT archive_path FROM files ORDER BY id)") == "1,1,0")
    }
}
