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

extension BackupTests {
    @Test("an export of the catalogue has one record per union record with its union id; a member's export its own records; yaz reads both")
    func export() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.fixture("loc-books-50.mrc")
        try daemon.drop(books, member: "M001", name: "books.mrc")
        try daemon.drop(books, member: "M002", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)

        let all = daemon.root.appendingPathComponent("all.mrc").path
        let whole = try daemon.ctl("export", all)
        #expect(whole.status == 0 && whole.stdoutText.contains("exported 50 records"), "\(whole.stdoutText)\(whole.stderrText)")
        let dump = try ProcessRunner.run("yaz-marcdump", ["-o", "line", all])
        #expect(dump.status == 0)
        let ids = dump.stdoutText.split(separator: "\n").filter { $0.hasPrefix("001 ") }
        #expect(ids.count == 50 && ids.allSatisfy { $0.hasPrefix("001 CAL") }, "\(ids.prefix(3))")

        let mine = daemon.root.appendingPathComponent("m1.xml").path
        let member = try daemon.ctl("export", "--member", "M001", "--format", "marcxml", mine)
        #expect(member.status == 0 && member.stdoutText.contains("exported 50 records"), "\(member.stderrText)")
        let xml = try ProcessRunner.run("yaz-marcdump", ["-i", "marcxml", "-o", "line", mine])
        #expect(xml.stdoutText.split(separator: "\n").filter { $0.hasPrefix("001 ") && !$0.hasPrefix("001 CAL") }.count == 50)

        let lines = daemon.root.appendingPathComponent("all.ndjson").path
        #expect(try daemon.ctl("export", "--format", "json", lines).status == 0)
        #expect(try String(contentsOfFile: lines, encoding: .utf8).split(separator: "\n").count == 50)

        #expect(try daemon.ctl("export", "--format", "pdf", lines).status == 64)
        let unknown = try daemon.ctl("export", "--member", "NOPE", daemon.root.appendingPathComponent("x.mrc").path)
        #expect(unknown.status == 1 && unknown.stderrText.contains("no member NOPE"))
        #expect(try daemon.ctl("export", all).status == 1)
    }

    @Test("export and backup draw a progress bar on a terminal (the daemon's GET /v1/operations), and none when piped")
    func progressOnTerminal() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.distinctBooks(20_000), member: "M001", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1, timeout: .seconds(300))
        let script = try #require(ProcessRunner.find("script"), "script (util-linux) gives the command a terminal")
        // M001's 20,000 records (50 union records: the copies merge) take the export long enough to be polled.
        for (command, label) in [("export", "exporting (records) "), ("backup", "backing up (pages) ")] {
            let target = daemon.root.appendingPathComponent("\(command)-tty").path
            // script runs the command on a pseudo-terminal and copies what it writes.
            let member = command == "export" ? ["--member", "M001"] : []
            let line = ([DaemonSupport.binary, "ctl", "--socket", daemon.socketPath, command] + member + [target]).joined(separator: " ")
            let terminal = try await ProcessRunner.runDetached(script, ["-qec", line, "/dev/null"])
            #expect(terminal.status == 0, "\(terminal.stdoutText)")
            #expect(terminal.stdoutText.contains(label), "\(command) on a terminal: \(terminal.stdoutText.suffix(300))")
            #expect(terminal.stdoutText.contains(command == "export" ? "exported 20000 records" : "backed up "))
            if command == "export" {
                #expect(terminal.stdoutText.contains("/20000"), "the daemon's count of records to write, from /v1/operations")
            }
            let piped = try daemon.ctl(command, target + "-piped")
            #expect(piped.status == 0 && !piped.stderrText.contains(label) && !piped.stderrText.contains("\u{1B}["))
        }
        // With nothing under way, nothing is listed; members are refused it like every admin route.
        #expect(try await daemon.json([OperationBody].self, "/v1/operations").isEmpty)
    }
}
