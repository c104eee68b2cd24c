import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

/// OAI-PMH harvesting end to end: the real daemon harvests a real third-party OAI-PMH server (pyoai's, serving
/// the LoC records of the fixtures) on loopback, through the ingest pipeline.
@Suite("OAI-PMH harvesting", .serialized)
struct HarvestDaemonTests {
    /// The pyoai provider of `Tests/Oracles/oai_provider.py`, on a port of its own choosing.
    final class Provider {
        let folder: String
        let pid: pid_t
        let port: Int
        var statePath: String { folder + "/state.json" }
        var logPath: String { folder + "/requests.log" }
        var url: String { "http://127.0.0.1:\(port)/oai" }

        static var available: Bool {
            (try? ProcessRunner.run("python3", ["-c", "import oaipmh.server, pymarc"]))?.status == 0
        }

        init(state: [String: Any], batch: Int = 7, slowSeconds: Double = 4, delaySeconds: Double = 0) async throws {
            folder = NSTemporaryDirectory() + "calisd-oai-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Oracles/oai_provider.py").path
            let output = open(folder + "/provider.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
            defer {
                close(output)
                close(null)
            }
            let statePath = folder + "/state.json"
            try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))
            pid = try ProcessRunner.spawn(
                try #require(ProcessRunner.find("python3")),
                [
                    script, "--marc", DaemonSupport.fixtures.appendingPathComponent("loc-books-50.mrc").path, "--state", statePath,
                    "--port-file", folder + "/port", "--log", folder + "/requests.log", "--batch", "\(batch)",
                    "--slow-seconds", "\(slowSeconds)", "--delay-seconds", "\(delaySeconds)",
                ], stdin: null, stdout: output, stderr: output)
            let portPath = folder + "/port"
            try await waitUntil("the OAI-PMH provider listens", timeout: .seconds(120)) {
                FileManager.default.fileExists(atPath: portPath)
            }
            port = Int(try String(contentsOfFile: portPath, encoding: .utf8)) ?? 0
        }

        func setState(_ state: [String: Any]) throws {
            try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath + ".new"))
            _ = rename(statePath + ".new", statePath)
        }

        /// The query strings the provider received, in order.
        var requests: [String] {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func clearLog() { try? FileManager.default.removeItem(atPath: logPath) }

        func stop() {
            kill(pid, SIGTERM)
            _ = ProcessRunner.waitForExit(pid)
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    static let config = """
        [ingest]
        settle_seconds = 1
        [refresh]
        retry_after_seconds = 1
        request_timeout_seconds = 2
        jitter_percent = 0

        """

    static func policy(_ daemon: DaemonProcess, _ member: String) throws -> RefreshBody {
        let result = try daemon.ctl("--json", "refresh", "status")
        return try #require(try JSONDecoder().decode([RefreshBody].self, from: result.stdout).first { $0.member == member })
    }

    static func activeRecords(_ daemon: DaemonProcess, _ member: String) async throws -> Int {
        try await daemon.json(MemberBody.self, "/v1/members/\(member)").records
    }

    @Test(
        "a member on OAI-PMH is harvested in full across resumption tokens, survives a provider failing mid-list, then takes only changes and deletions"
    )
    func harvestEndToEnd() async throws {
        guard Provider.available else {
            try #require(ProcessInfo.processInfo.environment["CI"] == nil, "pyoai and pymarc are needed (make deps)")
            print("skipping: python3 with pyoai and pymarc is not installed (make deps installs them)")
            return
        }
        // Mid-list faults: three 503s outlast the three tries of one request, so a harvest fails; six fail the first
        // two, whichever `refresh --wait` meets: the scheduler's own, due as soon as the member is set, may have
        // failed before the request arrives (a slow machine), and the next one must fail too. The harvest after
        // meets a body that is not XML, an answer slower than the timeout, and an expired resumption token.
        let provider = try await Provider(state: ["faults": ["503", "503", "503", "503", "503", "503", "malformed", "slow", "badtoken"]])
        defer { provider.stop() }
        let daemon = try await DaemonSupport.started(members: ["M001"], config: Self.config)
        defer { daemon.remove() }

        let set = try daemon.ctl("members", "set", "M001", "--refresh-interval", "1d", "--source", "oai", "--oai-url", provider.url)
        #expect(set.status == 0, "\(set.stderrText)")
        // What --wait saw when the harvest ended (the scheduler's own retry comes a second later).
        let failed = try daemon.ctl("--json", "refresh", "M001", "--wait", "--timeout", "60")
        #expect(failed.status == 1, "\(failed.stdoutText) \(failed.stderrText)")
        let failing = try JSONDecoder().decode(RefreshBody.self, from: failed.stdout)
        #expect(failing.state == "failing" && (1...2).contains(failing.failures) && failing.lastSuccess == nil, "\(failing)")
        #expect(failing.lastError?.contains("HTTP 503 from the provider") == true, "\(failing)")
        #expect(failing.lastError?.contains("resumptionToken") == true, "the failing request is named: \(failing)")
        // Nothing of the cut-off list reached ingest (the scheduler's retry, a second later, may have by now).
        let log = daemon.log
        let failedAt = try #require(log.range(of: "harvest failed"))
        #expect(!log[..<failedAt.lowerBound].contains("file taken"), "\(log)")

        // The scheduler tries again by itself after the backoff, and goes through the other faults.
        var recovered = failing
        try await waitUntil("the harvest succeeds on its own", timeout: .seconds(60)) {
            recovered = try Self.policy(daemon, "M001")
            return recovered.failures == 0 && recovered.lastSuccess != nil && !recovered.harvesting
        }
        let first = try #require(recovered.lastHarvest)
        #expect(first.records == 50 && first.deleted == 0 && first.from == nil, "\(first)")
        #expect(first.retries == 2 && first.restarts == 1, "a malformed and a slow page tried again, a list restarted: \(first)")
        #expect(recovered.state == "ok" && recovered.harvestFrom == first.until)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: first.files.count)
        #expect(try await Self.activeRecords(daemon, "M001") == 50)
        let requests = provider.requests
        #expect(requests.contains("verb=Identify"))
        #expect(requests.filter { $0.contains("resumptionToken=") }.count >= 7, "50 records in pages of 7: \(requests)")
        #expect(!requests.contains { $0.contains("from=") }, "the first harvest takes everything")
        let file = try #require(try await DaemonSupport.files(daemon, member: "M001").first)
        #expect(file.name.hasPrefix("oai-") && file.name.hasSuffix(".xml") && file.state == "done", "\(file)")

        // The provider changes one record and deletes two; the next harvest asks from the last one's response date.
        // (Stamped with that date itself: `from` is inclusive.)
        let changedAt = try #require(first.until)
        provider.clearLog()
        var changes: [String: Any] = [
            "00000002": ["datestamp": changedAt, "title": "Botanical materia medica, harvested again"],
            "00000004": ["datestamp": changedAt, "deleted": true],
            "00000006": ["datestamp": changedAt, "deleted": true],
        ]
        try provider.setState(["records": changes])
        let second = try daemon.ctl("--json", "refresh", "M001", "--wait", "--timeout", "60")
        #expect(second.status == 0, "\(second.stdoutText) \(second.stderrText)")
        let after = try JSONDecoder().decode(RefreshBody.self, from: second.stdout)
        let incremental = try #require(after.lastHarvest)
        #expect(incremental.records == 1 && incremental.deleted == 2 && incremental.from == first.until, "\(incremental)")
        let from = try #require(first.until)
        #expect(provider.requests.contains { $0.contains("from=" + from.replacingOccurrences(of: ":", with: "%3A")) }, "\(provider.requests)")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: first.files.count + incremental.files.count)
        #expect(try await Self.activeRecords(daemon, "M001") == 48)
        let changed = try await daemon.get("/v1/members/M001/records/00000002")
        #expect(String(decoding: changed.body, as: UTF8.self).contains("harvested again"))
        let deleted = try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/00000006")
        #expect(deleted.status == "deleted" && deleted.unionID == nil, "\(deleted)")

        // Nothing changed since: noRecordsMatch is a success that takes nothing.
        let quiet = try daemon.ctl("--json", "refresh", "M001", "--wait", "--timeout", "60")
        #expect(quiet.status == 0, "\(quiet.stdoutText) \(quiet.stderrText)")
        let nothing = try #require(try JSONDecoder().decode(RefreshBody.self, from: quiet.stdout).lastHarvest)
        #expect(nothing.records == 0 && nothing.deleted == 0 && nothing.files.isEmpty, "\(nothing)")

        // A restart keeps the schedule and the harvest's place.
        let before = try Self.policy(daemon, "M001")
        _ = try await daemon.stop()
        try await daemon.start()
        let restarted = try Self.policy(daemon, "M001")
        #expect(restarted.nextDue == before.nextDue && restarted.harvestFrom == before.harvestFrom && restarted.lastSuccess == before.lastSuccess)
        let dashboard = try daemon.ctl("refresh", "status")
        #expect(dashboard.stdoutText.contains("0 records, 0 deleted"), "\(dashboard.stdoutText)")

        // A day passes (the due time is the database's: set it back) and one more record changed: the scheduler
        // harvests it by itself, with no one asking.
        changes["00000007"] = ["datestamp": try #require(restarted.harvestFrom), "title": "Changed while nobody watched"]
        try provider.setState(["records": changes])
        let aged = try ProcessRunner.run("sqlite3", [
            daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", "UPDATE refresh_policies SET next_due = 1000 WHERE member = 'M001'",
        ])
        #expect(aged.status == 0, "\(aged.stderrText)")
        var scheduled = restarted
        try await waitUntil("the scheduler harvests the due member", timeout: .seconds(60)) {
            scheduled = try Self.policy(daemon, "M001")
            return scheduled.lastSuccess != restarted.lastSuccess && !scheduled.harvesting
        }
        #expect(scheduled.lastHarvest?.records == 1 && scheduled.state == "ok", "\(scheduled)")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: try await DaemonSupport.files(daemon, member: "M001").count)
        let seventh = try await daemon.get("/v1/members/M001/records/00000007")
        #expect(String(decoding: seventh.body, as: UTF8.self).contains("Changed while nobody watched"))
    }

    @Test("members due together are all harvested, never more at once than max_concurrent_harvests; their copies merge")
    func concurrencyLimit() async throws {
        guard Provider.available else {
            try #require(ProcessInfo.processInfo.environment["CI"] == nil, "pyoai and pymarc are needed (make deps)")
            print("skipping: python3 with pyoai and pymarc is not installed (make deps installs them)")
            return
        }
        // Each answer takes 0.2 s: a harvest of 50 records in pages of 10 lasts over a second.
        let provider = try await Provider(state: [:], batch: 10, delaySeconds: 0.2)
        defer { provider.stop() }
        let members = ["M001", "M002", "M003", "M004"]
        let daemon = try await DaemonSupport.started(
            members: members, config: Self.config.replacingOccurrences(of: "[refresh]\n", with: "[refresh]\nmax_concurrent_harvests = 2\n"))
        defer { daemon.remove() }
        for member in members {
            let set = try daemon.ctl("members", "set", member, "--refresh-interval", "1d", "--source", "oai", "--oai-url", provider.url)
            #expect(set.status == 0, "\(set.stderrText)")
            #expect(try daemon.ctl("refresh", member).status == 0)
        }
        try await waitUntil("every member is harvested", timeout: .seconds(120)) {
            let policies = try await daemon.json([RefreshBody].self, "/v1/refresh")
            return policies.allSatisfy { $0.lastSuccess != nil && !$0.harvesting }
        }
        // How many ran at once, from the daemon's own account in order (polling from here can miss it when the
        // machine is busy).
        var running = 0
        var most = 0
        for line in daemon.log.split(separator: "\n") {
            if line.contains("harvest started") { running += 1 }
            if line.contains("harvest finished") { running -= 1 }
            most = max(most, running)
        }
        #expect(most == 2, "at most two at once, and two did run together: \(most)")
        for member in members {
            #expect(try Self.policy(daemon, member).lastHarvest?.records == 50)
            _ = try await DaemonSupport.waitForFinished(daemon, member: member, count: 1)
            #expect(try await Self.activeRecords(daemon, member) == 50)
        }
        // Four libraries' copies of one book are one union record.
        for id in ["00000002", "00000004"] {
            var unions: Set<String?> = []
            for member in members {
                unions.insert(try await daemon.json(SourceRecordBody.self, "/v1/members/\(member)/records/\(id)").unionID)
            }
            #expect(unions.count == 1 && !unions.contains(nil), "\(unions)")
        }
    }

    @Test("a provider that cannot be reached fails with what went wrong, and the member shows as failing")
    func unreachableProvider() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"], config: Self.config)
        defer { daemon.remove() }
        // A port nothing listens on.
        let port = TCPListenerTests.freePort()

        let set = try daemon.ctl(
            "members", "set", "M001", "--refresh-interval", "1h", "--source", "oai", "--oai-url", "http://127.0.0.1:\(port)/oai")
        #expect(set.status == 0, "\(set.stderrText)")
        let result = try daemon.ctl("refresh", "M001", "--wait", "--timeout", "60")
        #expect(result.status == 1)
        // The scheduler tries again by itself a second later (retry_after_seconds = 1), so the wait may report
        // a retry's failure: however many in a row, the error is what went wrong.
        let report = result.stdoutText
        #expect(
            report.hasPrefix("harvest of M001 failed (") && report.contains(" in a row): cannot reach http://127.0.0.1:\(port)/oai"),
            "\(report)")
        #expect(try await DaemonSupport.status(daemon).refresh.failing == ["M001"])
        let policy = try Self.policy(daemon, "M001")
        #expect(policy.state == "failing" && policy.failures >= 1 && policy.lastError?.contains("3 attempts") == true, "\(policy)")

        // A drop member has nothing to fetch; an unknown member has no policy.
        #expect(try daemon.ctl("members", "set", "M002", "--refresh-interval", "7d", "--source", "drop").status == 0)
        let drop = try daemon.ctl("refresh", "M002")
        #expect(drop.status == 1 && drop.stderrText.contains("refreshes by drop"), "\(drop.stderrText)")
        let unknown = try daemon.ctl("refresh", "NOPE")
        #expect(unknown.status == 1 && unknown.stderrText.contains("NOPE has no refresh policy"), "\(unknown.stderrText)")
    }
}
