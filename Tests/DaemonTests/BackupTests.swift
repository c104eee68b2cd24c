import APITypes
import CalisdTesting
import Foundation
import Testing

/// `calisd ctl backup` while the daemon serves: a consistent copy SQLite and calisd can read; bad targets refused.
@Suite("calisd ctl backup")
struct BackupTests {
    @Test("a backup taken while serving is a whole catalogue: integrity ok, the same records; bad paths are refused clearly")
    func backup() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let target = daemon.root.appendingPathComponent("copy.sqlite").path

        let first = try daemon.ctl("backup", target)
        #expect(first.status == 0 && first.stdoutText.contains("backed up \(target)"), "\(first.stdoutText)\(first.stderrText)")
        let check = try ProcessRunner.run("sqlite3", [target, "PRAGMA integrity_check; SELECT count(*) FROM source_records;"])
        #expect(check.stdoutText == "ok\n50\n", "\(check.stdoutText)\(check.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: target + ".calisd-partial"))

        // An existing file is kept unless --force; then replaced.
        let again = try daemon.ctl("backup", target)
        #expect(again.status == 1 && again.stderrText.contains("exists"), "\(again.stderrText)")
        #expect(try daemon.ctl("backup", "--force", target).status == 0)
        // A folder that does not exist, and the catalogue itself.
        let missing = try daemon.ctl("backup", "/nonexistent-calisd/copy.sqlite")
        #expect(missing.status == 1 && missing.stderrText.contains("does not exist"), "\(missing.stderrText)")
        let itself = try daemon.ctl("backup", "--force", daemon.stateDirectory + "/catalogue.sqlite")
        #expect(itself.status == 1 && itself.stderrText.contains("the catalogue itself"), "\(itself.stderrText)")
        #expect(try daemon.ctl("backup").status == 64)
    }
}
