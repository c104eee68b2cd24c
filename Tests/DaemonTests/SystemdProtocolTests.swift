import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What systemd sees: notifications on NOTIFY_SOCKET, a socket passed by activation, SIGHUP reloads.
@Suite("systemd's side: notify, socket activation, reload")
struct SystemdProtocolTests {
    /// A datagram socket standing in for systemd's notification socket.
    final class NotifySocket {
        let path: String
        let descriptor: Int32

        init(path: String) {
            self.path = path
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }

        deinit { close(descriptor) }

        /// Every message received so far.
        func drain() -> [String] {
            var messages: [String] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return messages }
                messages.append(String(decoding: buffer[..<count], as: UTF8.self))
            }
        }
    }

    @Test("more start time asked while the catalogue opens, READY=1 once serving, WATCHDOG=1 with STATUS while running, STOPPING=1 on SIGTERM, then exit 0")
    func notifications() async throws {
        let daemon = try DaemonProcess(binary: DaemonSupport.binary)
        defer { daemon.remove() }
        let notify = NotifySocket(path: daemon.root.appendingPathComponent("notify.sock").path)
        try await daemon.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        var messages: [String] = []
        try await waitUntil("READY=1 and a watchdog ping arrive") {
            messages += notify.drain()
            return messages.contains { $0.contains("READY=1") } && messages.contains { $0.contains("WATCHDOG=1") }
        }
        #expect(messages.contains { $0.contains("STATUS=0 records, 0 union records") })
        // Opening the catalogue (migrations) asked for more start time before it was ready.
        let extended = messages.firstIndex { $0.contains("EXTEND_TIMEOUT_USEC=60000000\nSTATUS=opening the catalogue") }
        let ready = messages.firstIndex { $0.contains("READY=1") }
        #expect(extended != nil && extended! < ready!, "\(messages)")
        #expect(try await daemon.stop(signal: SIGTERM) == 0)
        messages += notify.drain()
        #expect(messages.contains { $0.contains("STOPPING=1") })
    }

    @Test(
        "socket activation: the daemon adopts the socket systemd-socket-activate passes and answers on it",
        .enabled(if: ProcessRunner.find("systemd-socket-activate") != nil, "needs systemd-socket-activate (Debian's systemd)"))
    func socketActivation() async throws {
        let daemon = try DaemonProcess(binary: DaemonSupport.binary)
        defer { daemon.remove() }
        try await daemon.start(launcher: [ProcessRunner.find("systemd-socket-activate")!, "-l", daemon.socketPath])
        #expect(daemon.log.contains("listening on the socket systemd passed"))
        #expect(try await daemon.json(HealthBody.self, "/v1/health").status == "ok")
        #expect(try await daemon.stop(signal: SIGTERM) == 0)
    }

    @Test("a second daemon on the same state folder refuses to start, and the first keeps its socket")
    func oneDaemonPerStateFolder() async throws {
        let daemon = try DaemonProcess(binary: DaemonSupport.binary)
        defer { daemon.remove() }
        try await daemon.start()
        let second = try ProcessRunner.run("timeout", ["30", DaemonSupport.binary, "serve", "--config", daemon.configPath])
        #expect(second.status == 74, "\(second.stderrText)")
        #expect(second.stderrText.contains("another calisd is running"))
        #expect(try await daemon.get("/v1/health").status == 200)
    }

    @Test("SIGHUP reloads the configuration; a broken one is reported and the running one stays")
    func reload() async throws {
        let daemon = try DaemonProcess(binary: DaemonSupport.binary)
        defer { daemon.remove() }
        try await daemon.start()
        var text = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        text += "[api]\nadmin_group = \"librarians\"\n"
        try text.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.pid!, SIGHUP)
        try await waitUntil("the reload is logged") { daemon.log.contains("configuration reloaded") }
        try "state_dir = 7\n".write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.pid!, SIGHUP)
        try await waitUntil("the broken reload is logged") { daemon.log.contains("configuration not reloaded") }
        #expect(daemon.log.contains("state_dir: must be a string"))
        #expect(try await daemon.get("/v1/health").status == 200)
        #expect(try await daemon.stop() == 0)
    }
}
