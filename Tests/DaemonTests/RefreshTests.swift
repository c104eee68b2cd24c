import APITypes
import CalisdTesting
import Foundation
import Testing

/// Members' refresh policies (drop): due times that survive a restart, overdue members shown, a full snapshot as
/// the refresh, bad settings refused.
@Suite("refresh policies")
struct RefreshTests {
    static func policy(_ daemon: DaemonProcess, _ member: String) throws -> RefreshBody? {
        let result = try daemon.ctl("--json", "refresh", "status")
        return try JSONDecoder().decode([RefreshBody].self, from: result.stdout).first { $0.member == member }
    }

    @Test("a drop member is overdue when no full snapshot came in its interval; a snapshot refreshes it; due times survive a restart")
    func dropPolicy() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        defer { daemon.remove() }
        let empty = try daemon.ctl("refresh", "status")
        #expect(empty.status == 0 && empty.stdoutText.contains("no member has a refresh policy"))
        let set = try daemon.ctl("members", "set", "M001", "--refresh-interval", "7d", "--source", "drop")
        #expect(set.status == 0, "\(set.stderrText)")
        let fresh = try #require(try Self.policy(daemon, "M001"))
        #expect(fresh.source == "drop" && fresh.intervalSeconds == 7 * 86_400 && fresh.state == "ok" && fresh.lastSuccess == nil)

        // A week passes without a snapshot (the due time is the database's: set it back).
        let aged = try ProcessRunner.run("sqlite3", [
            daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", "UPDATE refresh_policies SET next_due = 1000 WHERE member = 'M001'",
        ])
        #expect(aged.status == 0, "\(aged.stderrText)")
        #expect(try Self.policy(daemon, "M001")?.state == "overdue")
        #expect(try await DaemonSupport.status(daemon).refresh.overdue == ["M001"])
        let dashboard = try daemon.ctl("status")
        #expect(dashboard.stdoutText.contains("refresh:  overdue M001"), "\(dashboard.stdoutText)")

        // A restart keeps every member's due time.
        _ = try await daemon.stop()
        try await daemon.start()
        #expect(try Self.policy(daemon, "M001")?.nextDue == "1970-01-01T00:16:40Z")

        // The member's full snapshot arrives: refreshed, due again one interval on.
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "catalogue.full.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let refreshed = try #require(try Self.policy(daemon, "M001"))
        #expect(refreshed.state == "ok" && refreshed.lastSuccess != nil, "\(refreshed)")
        #expect(try await DaemonSupport.status(daemon).refresh.overdue.isEmpty)
    }

    @Test("bad refresh settings are refused with what to do", arguments: [
        (["members", "set", "M001", "--refresh-interval", "7x", "--source", "drop"], Int32(64), "not a duration"),
        (["members", "set", "M001", "--source", "drop"], Int32(64), "go together"),
        (["members", "set", "M001", "--refresh-interval", "30s", "--source", "drop"], Int32(1), "must be from 60"),
        (["members", "set", "M001", "--refresh-interval", "1d", "--source", "ftp"], Int32(1), "must be drop or oai"),
        (["members", "set", "M001", "--refresh-interval", "1d", "--source", "oai"], Int32(64), "--source oai needs --oai-url"),
        (["members", "set", "M001", "--refresh-interval", "1d", "--source", "drop", "--oai-url", "http://x/oai"], Int32(64), "go with --source oai"),
        (["members", "set", "M001", "--refresh-interval", "1d", "--source", "oai", "--oai-url", "ftp://x/oai"], Int32(1), "http:// or https://"),
        (["members", "set", "M001", "--refresh-interval", "1d", "--source", "oai", "--oai-url", "http://x/oai", "--oai-set", "a b"], Int32(1), "oai_set must be"),
        (["members", "set", "NOPE", "--refresh-interval", "1d", "--source", "drop"], Int32(1), "no member NOPE"),
    ])
    func badSettings(arguments: [String], status: Int32, message: String) async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let result = try ProcessRunner.run(DaemonSupport.binary, ["ctl", "--socket", daemon.socketPath] + arguments)
        #expect(result.status == status && result.stderrText.contains(message), "\(result.status) \(result.stderrText)")
        #expect(try Self.policy(daemon, "M001") == nil)
    }
}
