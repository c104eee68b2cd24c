import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients that misbehave: thousands left idle, one that stops half-way through its head, one that never sends
/// anything. The daemon answers everyone else and closes what is silent.
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

    /// Whether the daemon closed the connection within `seconds` (a read sees the end, not a timeout); what is
    /// still to read of an answer is read past.
    static func closedByDaemon(_ descriptor: Int32, within seconds: Int) -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&poll, 1, 200) >= 0 else { return false }
            guard poll.revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return count == 0 || errno == ECONNRESET }
        }
        return false
    }

    @Test("2,000 idle connections do not stop the daemon answering; they, a half-sent head and a kept-alive silent client are closed after idle_timeout_seconds")
    func idleAndSlowClients() async throws {
        let daemon = try await DaemonSupport.started(
            members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[api]\nidle_timeout_seconds = 5\n")
        defer { daemon.remove() }

        var idle: [Int32] = []
        for _ in 0..<2_000 {
            let descriptor = Self.connect(daemon.socketPath)
            if descriptor >= 0 { idle.append(descriptor) }
        }
        #expect(idle.count == 2_000, "the backlog takes them all")
        #expect(try await daemon.get("/v1/health").status == 200)
        #expect(try await daemon.get("/v1/status").status == 200)
        // All of them are closed by the daemon once silent for the timeout.
        try await Task.sleep(for: .seconds(6))
        let closed = idle.filter { Self.closedByDaemon($0, within: 10) }.count
        idle.forEach { close($0) }
        #expect(closed == 2_000, "\(closed) of 2000 closed")

        // A head cut off half-way (slowloris) is closed too.
        let slow = Self.connect(daemon.socketPath)
        defer { close(slow) }
        _ = Array("GET /v1/health HTTP/1.1\r\nHost: calisd\r\nX-Slow".utf8).withUnsafeBytes { write(slow, $0.baseAddress, $0.count) }
        #expect(Self.closedByDaemon(slow, within: 15))

        // A kept-alive connection is answered, then closed once silent.
        let kept = Self.connect(daemon.socketPath)
        defer { close(kept) }
        _ = Array("GET /v1/health HTTP/1.1\r\nHost: calisd\r\n\r\n".utf8).withUnsafeBytes { write(kept, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(kept, $0.baseAddress, $0.count) }
        #expect(count > 0 && String(decoding: buffer[..<max(count, 0)], as: UTF8.self).contains("200 OK"))
        #expect(Self.closedByDaemon(kept, within: 15))

        #expect(try await daemon.get("/v1/health").status == 200)
    }
}
