import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The loopback TCP listener a reverse proxy uses: the same API, members by token, never admin.
@Suite("loopback TCP listener")
struct TCPListenerTests {
    /// A loopback port nothing listens on: bound, noted, closed.
    static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
        let result = try ProcessRunner.run("curl", ["-s", "-w", "\n%{http_code}"] + arguments)
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test("over TCP: public reads answer, a root client is not admin, a member's token uploads for it")
    func loopbackListener() async throws {
        let port = Self.freePort()
        let daemon = try await DaemonSupport.started(
            members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[api]\nlisten_tcp = \"127.0.0.1:\(port)\"\n")
        defer { daemon.remove() }
        let base = "http://127.0.0.1:\(port)"
        #expect(try Self.curl([base + "/v1/health"]).status == 200)
        // This test runs as root: over the Unix socket that is admin, over TCP it is not.
        let refresh = try Self.curl([base + "/v1/refresh"])
        #expect(refresh.status == 403 && refresh.body.contains("forbidden"), "\(refresh)")
        #expect(try Self.curl([base + "/v1/tokens"]).status == 403)
        let token = try #require(try TokenTests.create(daemon, "M001").token)
        let upload = try Self.curl([
            "-X", "POST", "-H", "Authorization: Bearer \(token)", "--data-binary",
            "@" + DaemonSupport.fixtures.appendingPathComponent("loc-books-50.mrc").path, base + "/v1/members/M001/files?name=tcp.mrc",
        ])
        #expect(upload.status == 202, "\(upload)")
        #expect(try Self.curl(["-X", "POST", "--data-binary", "@/dev/null", base + "/v1/members/M001/files"]).status == 401)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        #expect(try Self.curl([base + "/v1/search?q=botanical"]).body.contains("Botanical"))
        #expect(daemon.log.contains("listening on loopback TCP, never admin"))
    }
}
