import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients that misbehave: one that never sends anything, one that stops half-way through its head, one that goes
/// quiet after an answer. The daemon closes what is silent and answers everyone else.
@Suite("connections")
struct ConnectionTests {
    static func connect(_ path: String) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// How many of `descriptors` the daemon closed within `seconds` (a read sees the end; what is still to read of
    /// an answer is read past). All are polled together, on a thread of their own: blocking the test runner's
    /// few threads would starve the tests running beside this one.
    static func closedByDaemon(_ descriptors: [Int32], within seconds: Int) async -> Int {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let deadline = ContinuousClock.now + .seconds(seconds)
                var open = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                var closed = 0
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !open.isEmpty && ContinuousClock.now < deadline {
                    guard poll(&open, nfds_t(open.count), 200) >= 0 else { break }
                    var still: [pollfd] = []
                    for entry in open {
                        guard entry.revents != 0 else {
                            still.append(pollfd(fd: entry.fd, events: Int16(POLLIN), revents: 0))
                            continue
                        }
                        let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                        if count > 0 {
                            still.append(pollfd(fd: entry.fd, events: Int16(POLLIN), revents: 0))
                        } else if count == 0 || errno == ECONNRESET {
                            closed += 1
                        }
                    }
                    open = still
                }
                continuation.resume(returning: closed)
            }
        }
    }

    @Test("a silent client, a half-sent head and a kept-alive client that goes quiet are closed after idle_timeout_seconds; the daemon keeps answering")
    func idleAndSlowClients() async throws {
        let daemon = try await DaemonSupport.started(
            members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[api]\nidle_timeout_seconds = 10\n")
        defer { daemon.remove() }

        // One never sends anything; one stops half-way through its head (slowloris); one is answered, then goes quiet.
        let silent = Self.connect(daemon.socketPath)
        let slow = Self.connect(daemon.socketPath)
        let kept = Self.connect(daemon.socketPath)
        defer { [silent, slow, kept].forEach { close($0) } }
        _ = Array("GET /v1/health HTTP/1.1\r\nHost: calisd\r\nX-Slow".utf8).withUnsafeBytes { write(slow, $0.baseAddress, $0.count) }
        _ = Array("GET /v1/health HTTP/1.1\r\nHost: calisd\r\n\r\n".utf8).withUnsafeBytes { write(kept, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(kept, $0.baseAddress, $0.count) }
        #expect(count > 0 && String(decoding: buffer[..<max(count, 0)], as: UTF8.self).contains("200 OK"))
        // Meanwhile the daemon answers others; after the timeout all three are closed by it.
        #expect(try await daemon.get("/v1/health").status == 200)
        #expect(await Self.closedByDaemon([silent, slow, kept], within: 25) == 3)
        #expect(try await daemon.get("/v1/health").status == 200)
    }
}
