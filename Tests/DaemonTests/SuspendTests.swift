import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

/// A suspended member: its drop folder and uploads wait, its refresh is never overdue; resumed, what waited is
/// taken. Its records stay in the catalogue throughout.
@Suite("members suspend and resume")
struct SuspendTests {
    @Test("files dropped while suspended wait in the folder and are taken on resume; uploads are refused; the refresh shows suspended, not overdue")
    func suspendAndResume() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "first.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        #expect(try daemon.ctl("members", "set", "M001", "--refresh-interval", "7d", "--source", "drop").status == 0)

        let suspended = try daemon.ctl("members", "suspend", "M001", "--reason", "membership lapsed")
        #expect(suspended.status == 0 && suspended.stdoutText.contains("member M001 is suspended"), "\(suspended.stdoutText)")
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").status == "suspended")

        // A file dropped now stays where it is (a scan and the settle time pass), while M002's is taken.
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "waiting.mrc")
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M002", name: "other.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        try await Task.sleep(for: .seconds(3))
        #expect(daemon.entries(member: "M001").contains("waiting.mrc"), "\(daemon.entries(member: "M001"))")
        #expect(try await DaemonSupport.files(daemon, member: "M001").count == 1)
        #expect(daemon.log.contains("member suspended: its drop folder waits"))

        // Uploads wait too; the records already in stay.
        let upload = try await daemon.client.request("POST", "/v1/members/M001/files?name=x.mrc", json: try DaemonSupport.fixture("loc-books-50.mrc"))
        #expect(upload.status == 409 && String(decoding: upload.body, as: UTF8.self).contains("suspended"))
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").records == 20)

        // Its snapshot is long overdue, but a suspended member is not chased.
        _ = try ProcessRunner.run("sqlite3", [daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", "UPDATE refresh_policies SET next_due = 1000"])
        #expect(try RefreshTests.policy(daemon, "M001")?.state == "suspended")
        #expect(try await DaemonSupport.status(daemon).refresh.overdue.isEmpty)

        let resumed = try daemon.ctl("members", "resume", "M001")
        #expect(resumed.status == 0 && resumed.stdoutText.contains("member M001 is active"))
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        #expect(files.contains { $0.name == "waiting.mrc" && $0.state == "done" })
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").records == 70)
        #expect(try RefreshTests.policy(daemon, "M001")?.state == "overdue")

        let unknown = try daemon.ctl("members", "suspend", "NOPE")
        #expect(unknown.status == 1 && unknown.stderrText.contains("no member NOPE"))
        let feed = String(decoding: try await daemon.get("/v1/changes?since=0&limit=10000").body, as: UTF8.self)
        #expect(feed.contains("member-suspended") && feed.contains("member-resumed"))
    }
}
