import APIClient
import APITypes
import CalisdTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Connections that do not behave: silent ones, a head sent half-way, kept-alive clients that go quiet, and
/// thousands of idle connections at once. The daemon closes them after `idle_timeout_seconds` and answers
/// everyone else meanwhile; it raises its open-files limit so thousands fit.
@Suite("idle and slow connections")
struct ConnectionTests {
    struct SocketError: Error, CustomStringConvertible {
        var description: String
    }

    /// A raw connection to the daemon's Unix socket, with a receive timeout so no read waits for ever.
    static func connect(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw SocketError(description: "connect: \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    /// A whole GET on a thread of its own: the test's async client could be held up long enough, on a loaded
    /// machine, to look silent to the short idle timeouts here.
    static func rawGet(_ path: String, _ target: String) async throws -> (status: Int, body: String) {
        try await onOwnThread {
            let descriptor = try connect(path)
            defer { close(descriptor) }
            send(descriptor, "GET \(target) HTTP/1.1\r\nHost: calisd\r\nConnection: close\r\n\r\n")
            let text = String(decoding: readToEnd(descriptor), as: UTF8.self)
            guard let status = Int(text.dropFirst(9).prefix(3)), let split = text.range(of: "\r\n\r\n") else {
                throw SocketError(description: "no HTTP answer to \(target): \(text.prefix(200))")
            }
            return (status, String(text[split.upperBound...]))
        }
    }

    /// Everything the daemon sends until it closes the connection (or the receive timeout passes).
    static func readToEnd(_ descriptor: Int32) -> [UInt8] {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { return answer }
            answer += buffer[..<count]
        }
    }

    static func send(_ descriptor: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count - 1) }
    }

    /// Reads until the daemon closes the connection (true) or 20 s pass without it (false).
    static func closedByPeer(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    /// Reads a connection on a thread of its own from the moment it is made, noting when the daemon closes it
    /// (nil: not within 20 s), then closes it. Timed there, not after this test's task gets a shared thread back:
    /// on a loaded machine that can be long after the close.
    final class CloseWatch: Sendable {
        private let finished = DispatchSemaphore(value: 0)
        private let closedAt = Mutex<Date?>(nil)

        init(_ descriptor: Int32) {
            Thread { [self] in
                let closed = ConnectionTests.closedByPeer(descriptor)
                if closed { closedAt.withLock { $0 = Date() } }
                close(descriptor)
                finished.signal()
            }.start()
        }

        func wait() -> Date? {
            finished.wait()
            return closedAt.withLock { $0 }
        }
    }

    @Test("a silent connection, a half-sent head and a quiet kept-alive client are closed after the idle timeout; others are answered meanwhile")
    func idleConnectionsClosed() async throws {
        // Long enough that this test's own client, slow on a loaded machine, is not taken for a silent one.
        let daemon = try await DaemonSupport.started(members: [], config: "[api]\nidle_timeout_seconds = 5\n")
        defer { daemon.remove() }
        let path = daemon.socketPath
        let started = Date()
        let watches = try await onOwnThread {
            let silent = try Self.connect(path)
            let halfHead = try Self.connect(path)
            Self.send(halfHead, "GET /v1/health HTTP/1.1\r\nHost: calisd\r\n")
            let keptAlive = try Self.connect(path)
            Self.send(keptAlive, "GET /v1/health HTTP/1.1\r\nHost: calisd\r\n\r\n")
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(keptAlive, &buffer, buffer.count)
            #expect(count > 0 && String(decoding: buffer[..<max(0, count)], as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            return [silent, halfHead, keptAlive].map(CloseWatch.init)
        }
        // The daemon answers others while those wait.
        for _ in 0..<5 { #expect(try await Self.rawGet(path, "/v1/health").status == 200) }
        let closes = try await onOwnThread { watches.map { $0.wait() } }
        #expect(closes.map { $0 != nil } == [true, true, true], "each is closed by the daemon")
        for closedAt in closes.compactMap({ $0 }) {
            let waited = closedAt.timeIntervalSince(started)
            #expect(waited >= 4.9 && waited < 60, "after the idle timeout, not at once: \(waited) s")
        }
        #expect(try await Self.rawGet(path, "/v1/health").status == 200)
    }

    @Test("a request answered slowly is not cut off as idle; a steady upload longer than the timeout goes through")
    func busyIsNotIdle() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"], config: "[ingest]\nsettle_seconds = 1\n[api]\nidle_timeout_seconds = 4\n")
        defer { daemon.remove() }
        // An upload sent in pieces over about 8 s, twice the timeout, each piece well within it.
        let path = daemon.socketPath
        let records = try DaemonSupport.fixture("loc-books-50.mrc")
        let answer = try await onOwnThread {
            let descriptor = try Self.connect(path)
            defer { close(descriptor) }
            Self.send(descriptor, "POST /v1/members/M001/files?name=slow.mrc HTTP/1.1\r\nHost: calisd\r\nContent-Length: \(records.count)\r\n\r\n")
            let pieces = 8
            let size = (records.count + pieces - 1) / pieces
            for start in stride(from: 0, to: records.count, by: size) {
                usleep(1_000_000)
                let piece = Array(records[start..<min(records.count, start + size)])
                _ = piece.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count) }
            }
            var buffer = [UInt8](repeating: 0, count: 8192)
            let count = read(descriptor, &buffer, buffer.count)
            return String(decoding: buffer[..<max(0, count)], as: UTF8.self)
        }
        #expect(answer.hasPrefix("HTTP/1.1 202"), "\(answer)")
        try await waitUntil("the uploaded file is done", timeout: .seconds(120)) {
            let files = try JSONDecoder().decode([FileBody].self, from: Data(try await Self.rawGet(path, "/v1/files?member=M001").body.utf8))
            return files.first?.state == "done"
        }
    }

    @Test("2,000 idle connections at once: the daemon raises its open-files limit, keeps answering, then closes them")
    func thousandsOfIdleConnections() async throws {
        let daemon = try DaemonProcess(binary: DaemonSupport.binary, config: "[api]\nidle_timeout_seconds = 6\n")
        defer { daemon.remove() }
        // Started with a soft limit of 1024, as a shell gives it: 2,000 connections need the hard limit.
        let prlimit = try #require(ProcessRunner.find("prlimit"), "prlimit (util-linux) starts the daemon with a low soft limit")
        try await daemon.start(launcher: [prlimit, "--nofile=1024:8192"])
        let pid = try #require(daemon.pid)
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2) == ["8192", "8192"], "\(line)")

        let path = daemon.socketPath
        let descriptors = try await onOwnThread { try (0..<2_000).map { _ in try Self.connect(path) } }
        defer { for descriptor in descriptors { close(descriptor) } }
        for _ in 0..<20 { #expect(try await Self.rawGet(path, "/v1/health").status == 200) }
        let closed = try await onOwnThread { descriptors.filter(Self.closedByPeer).count }
        #expect(closed == 2_000)
        #expect(try await Self.rawGet(path, "/v1/status").status == 200)
        #expect(daemon.isRunning)
    }

    @Test("a storm of reads from 64 clients during a large ingest: every request answered, none waits for the writer to finish")
    func requestStormDuringIngest() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M002", name: "books.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        try daemon.drop(try DaemonSupport.distinctBooks(20_000), member: "M001", name: "large.mrc")
        try await waitUntil("the large file is being ingested", timeout: .seconds(60)) {
            try await DaemonSupport.status(daemon).ingest.active == 1
        }
        let targets = [
            "/v1/records?isbn=0836932722", "/v1/search?q=loom", "/sru?version=1.2&operation=searchRetrieve&query=title%3Dloom",
            "/oai?verb=ListIdentifiers&metadataPrefix=marc21&set=M002", "/v1/status", "/v1/health",
        ]
        // 64 clients ask without pause until the ingest is over: how many answers came while the writer worked.
        let ingesting = IngestFlag()
        let answers = try await withThrowingTaskGroup(of: [Int].self) { group in
            group.addTask {
                while try await DaemonSupport.status(daemon).ingest.active == 1 { try await Task.sleep(for: .milliseconds(100)) }
                ingesting.value.store(false, ordering: .relaxed)
                return []
            }
            for client in 0..<64 {
                group.addTask {
                    var statuses: [Int] = []
                    var round = 0
                    while ingesting.value.load(ordering: .relaxed) && statuses.count < 500 {
                        let target = targets[(client + round) % targets.count]
                        do {
                            statuses.append(try await daemon.get(target).status)
                        } catch {
                            Issue.record("\(target): \(error)")
                            statuses.append(-1)
                        }
                        round += 1
                    }
                    return statuses
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(answers.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: answers, by: { $0 }).mapValues(\.count))")
        #expect(answers.count >= 64, "readers were answered while the writer worked: \(answers.count)")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1, timeout: .seconds(300))
        #expect(files.first?.state == "done" && files.first?.counts.added == 20_000)
        #expect(daemon.isRunning)
    }
}

/// Whether the ingest the storm runs beside is still going, read by every client task.
final class IngestFlag: Sendable {
    let value = Atomic<Bool>(true)
}
