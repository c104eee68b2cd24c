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

    @Test("2,000 idle connections do not stop the daemon answering; they, a half-sent head and a kept-alive silent client are closed after idle_timeout_seconds")
    func idleAndSlowClients() async throws {
        // The timeout is generous: with the whole suite running on two cores, accepting 2,000 connections at once
        // can keep the event loops from reading a fresh request for seconds.
        let daemon = try await DaemonSupport.started(
            members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[api]\nidle_timeout_seconds = 10\n")
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
        try await Task.sleep(for: .seconds(11))
        let closed = await Self.closedByDaemon(idle, within: 15)
        idle.forEach { close($0) }
        #expect(closed == 2_000, "\(closed) of 2000 closed")

        // A head cut off half-way (slowloris) is closed too.
        let slow = Self.connect(daemon.socketPath)
        defer { close(slow) }
        _ = Array("GET /v1/health HTTP/1.1\r\nHost: calisd\r\nX-Slow".utf8).withUnsafeBytes { write(slow, $0.baseAddress, $0.count) }
        #expect(await Self.closedByDaemon([slow], within: 25) == 1)

        // A kept-alive connection is answered, then closed once silent.
        let kept = Self.connect(daemon.socketPath)
        defer { close(kept) }
        _ = Array("GET /v1/health HTTP/1.1\r\nHost: calisd\r\n\r\n".utf8).withUnsafeBytes { write(kept, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(kept, $0.baseAddress, $0.count) }
        #expect(count > 0 && String(decoding: buffer[..<max(count, 0)], as: UTF8.self).contains("200 OK"))
        #expect(await Self.closedByDaemon([kept], within: 25) == 1)

        #expect(try await daemon.get("/v1/health").status == 200)
    }
}
