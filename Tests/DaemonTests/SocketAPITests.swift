import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The socket API and `calisd ctl` against a real daemon: answers, broken requests, uploads, who is admin.
@Suite("socket API and calisd ctl")
struct SocketAPITests {
    static func curl(_ daemon: DaemonProcess, _ arguments: [String], as user: UInt32? = nil) throws -> ProcessRunner.Output {
        let command = ["curl", "-s", "-w", "\n%{http_code} %{content_type}", "--unix-socket", daemon.socketPath] + arguments
        if let user {
            return try ProcessRunner.run("setpriv", ["--reuid=\(user)", "--regid=\(user)", "--clear-groups"] + command)
        }
        return try ProcessRunner.run(command[0], Array(command.dropFirst()))
    }

    /// Sends raw bytes on a fresh connection and returns what came back before the daemon closed it.
    static func raw(_ daemon: DaemonProcess, _ bytes: [UInt8]) -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in daemon.socketPath.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return "connect failed" }
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        shutdown(descriptor, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    @Test("health and status answer JSON, with or without Accept; status has the documented shape")
    func healthAndStatus() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let health = try Self.curl(daemon, ["http://calisd/v1/health"])
        #expect(health.stdoutText.hasPrefix(#"{"status":"ok"}"#))
        #expect(health.stdoutText.hasSuffix("200 application/json; charset=utf-8"))
        let any = try Self.curl(daemon, ["-H", "Accept: */*", "http://calisd/v1/status"])
        let body = try JSONSerialization.jsonObject(with: Data(any.stdoutText.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect((body?["records"] as? [String: Int]) == ["source": 0, "union": 0])
        #expect((body?["ingest"] as? [String: Any])?["queued"] as? Int == 0)
        #expect((body?["ingest"] as? [String: Any])?["active"] as? Int == 0)
        #expect(body?["members"] as? Int == 1)
    }

    @Test("broken requests get a JSON error with the right status, and the daemon keeps serving")
    func brokenRequests() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let cases: [([String], String)] = [
            (["http://calisd/nope"], "404"),
            (["http://calisd/v1/nope"], "404"),
            (["http://calisd/v1/members/NOPE"], "404"),
            (["http://calisd/v1/members/M001/records/%ZZ"], "400"),
            (["http://calisd/v1/members/M001/records/none"], "404"),
            (["http://calisd/v1/records/CAL12x"], "400"),
            (["http://calisd/v1/records/CAL999999"], "404"),
            (["http://calisd/v1/files/abc"], "400"),
            (["http://calisd/v1/files/999"], "404"),
            (["http://calisd/v1/files?state=lost"], "400"),
            (["http://calisd/v1/files?limit=0"], "400"),
            (["-X", "DELETE", "http://calisd/v1/health"], "405"),
            (["-X", "POST", "-d", "{not json", "http://calisd/v1/members"], "400"),
            (["-X", "POST", "-d", #"{"code":"bad code","name":"x"}"#, "http://calisd/v1/members"], "422"),
            (["-X", "POST", "-d", #"{"code":"M001","name":"again"}"#, "http://calisd/v1/members"], "409"),
            (["-X", "POST", "-d", #"{"code":"M009","name":""}"#, "http://calisd/v1/members"], "422"),
            (["-X", "POST", "http://calisd/v1/files/1/approve"], "404"),
            (["-X", "POST", "--data-binary", "@/dev/null", "http://calisd/v1/members/NOPE/files"], "404"),
            (["-X", "POST", "--data-binary", "@/dev/null", "http://calisd/v1/members/M001/files?name=.hidden"], "400"),
        ]
        for (arguments, status) in cases {
            let result = try Self.curl(daemon, arguments)
            let lines = result.stdoutText.split(separator: "\n")
            #expect(lines.last?.hasPrefix(status) == true, "\(arguments): \(result.stdoutText)")
            #expect(lines.first?.hasPrefix(#"{"error":{"code":"#) == true, "\(arguments): \(result.stdoutText)")
        }
        // A body over 1 MiB where JSON is expected.
        let large = daemon.root.appendingPathComponent("large.json").path
        #expect(FileManager.default.createFile(atPath: large, contents: Data(repeating: 0x20, count: 2 << 20)))
        #expect(try Self.curl(daemon, ["-X", "POST", "--data-binary", "@\(large)", "http://calisd/v1/members"]).stdoutText.contains("413"))
        // Headers larger than the parser takes (80 KiB): refused, and the daemon goes on.
        let header = "X-Filler: " + String(repeating: "a", count: 200_000)
        #expect(Self.raw(daemon, Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\(header)\r\n\r\n".utf8)).contains("HTTP/1.1 4"))
        // Not HTTP at all, and a request cut off in its headers.
        #expect(Self.raw(daemon, Array("\u{0}\u{1}garbage\r\n\r\n".utf8)).contains("400"))
        _ = Self.raw(daemon, Array("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Cut".utf8))
        #expect(try await daemon.get("/v1/health").status == 200)
    }

    @Test("a member's record by percent-encoded local id, trimmed the way ingest trims the 001")
    func localIDsArePercentDecodedAndTrimmed() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let record = DaemonSupport.rewrite(try DaemonSupport.locBooks()[0], controlNumber: "  a/b 1?  ")
        try daemon.drop(try DaemonSupport.iso([record]), member: "M001", name: "one.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        for target in ["a%2Fb%201%3F", "%20%20a%2Fb%201%3F%20"] {
            let body = try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(target)")
            #expect(body.localID == "a/b 1?" && body.member == "M001" && body.unionID?.hasPrefix("CAL") == true)
        }
    }

    @Test("calisd ctl ingest uploads through the socket into the same pipeline; bad files, members and sizes fail clearly")
    func ctlIngest() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[api]\nmax_upload_mb = 1\n")
        defer { daemon.remove() }
        let path = DaemonSupport.fixtures.appendingPathComponent("loc-books-50.mrc").path
        let result = try daemon.ctl("--json", "ingest", "--member", "M001", path)
        #expect(result.status == 0, "\(result.stderrText)")
        let files = try JSONDecoder().decode([FileBody].self, from: result.stdout)
        #expect(files.count == 1 && files[0].state == "done" && files[0].counts.added == 50 && files[0].name == "loc-books-50.mrc")
        #expect(FileManager.default.fileExists(atPath: daemon.memberFolder("M001") + "/reports/loc-books-50.mrc.report.json"))
        let human = try daemon.ctl("ingest", "--member", "M001", path)
        #expect(human.status == 0 && human.stdoutText.contains("identical to file"))

        let missing = try daemon.ctl("ingest", "--member", "M001", "/nonexistent/file.mrc")
        #expect(missing.status == 65 && missing.stderrText.contains("cannot read /nonexistent/file.mrc"))
        let unknown = try daemon.ctl("ingest", "--member", "M404", path)
        #expect(unknown.status == 1 && unknown.stderrText.contains("no member M404"))
        let big = daemon.root.appendingPathComponent("big.mrc").path
        #expect(FileManager.default.createFile(atPath: big, contents: Data(try DaemonSupport.distinctBooks(2_000))))
        let tooLarge = try daemon.ctl("ingest", "--member", "M001", big)
        #expect(tooLarge.status == 1 && tooLarge.stderrText.contains("limited to 1 MiB"), "\(tooLarge.stderrText)")
        #expect(try daemon.ctl("ingest", "--member", "M001").status == 64)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: daemon.stateDirectory + "/uploads")) ?? ["x"]).isEmpty)
    }

    @Test("calisd ctl says what to do when the daemon cannot be reached, and lists as tables or JSON")
    func ctlOutput() async throws {
        let unreachable = try ProcessRunner.run(DaemonSupport.binary, ["ctl", "--socket", "/nonexistent/calisd.sock", "status"])
        #expect(unreachable.status == 69 && unreachable.stderrText.contains("is the daemon running"))
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let table = try daemon.ctl("members", "list")
        #expect(table.status == 0 && table.stdoutText.hasPrefix("CODE") && table.stdoutText.contains("M002  active"))
        let json = try daemon.ctl("members", "list", "--json")
        #expect(try JSONDecoder().decode([MemberBody].self, from: json.stdout).map(\.code) == ["M001", "M002"])
        let status = try daemon.ctl("status")
        #expect(status.status == 0 && status.stdoutText.contains("members:  2"))
        let bad = try daemon.ctl("members", "add", "bad/code", "--name", "x")
        #expect(bad.status == 1 && bad.stderrText.contains("member codes are"))
        #expect(FileManager.default.fileExists(atPath: daemon.memberFolder("M002") + "/reports"))
    }

    @Test(
        "admin routes are for root and the admin group only (SO_PEERCRED); others may read health but get 403 there",
        .enabled(if: getuid() == 0, "needs root to run a client as another user"))
    func adminRoutesNeedAdminPeer() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        // The socket's mode keeps strangers out; opened here so that the daemon's own check is what is tested.
        chmod(daemon.socketPath, 0o666)
        let nobody: UInt32 = 65534
        #expect(try Self.curl(daemon, ["http://calisd/v1/health"], as: nobody).stdoutText.contains("200"))
        for arguments in [
            ["http://calisd/v1/members"], ["-X", "POST", "-d", #"{"code":"M002","name":"x"}"#, "http://calisd/v1/members"],
            ["http://calisd/v1/files"],
        ] {
            let result = try Self.curl(daemon, arguments, as: nobody)
            #expect(result.stdoutText.contains(#""code":"forbidden""#) && result.stdoutText.contains("\n403"), "\(arguments)")
        }
        // An upload is a member's own business too: without its token, 401 (TokenTests has the rest).
        let upload = try Self.curl(daemon, ["-X", "POST", "--data-binary", "@/dev/null", "http://calisd/v1/members/M001/files"], as: nobody)
        #expect(upload.stdoutText.contains(#""code":"unauthorized""#) && upload.stdoutText.contains("\n401"), "\(upload.stdoutText)")
        #expect(try await daemon.json([MemberBody].self, "/v1/members").count == 1)
    }
}
