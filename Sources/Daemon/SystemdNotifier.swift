import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: datagrams to `NOTIFY_SOCKET` (a path, or `@name` in the abstract
/// namespace). Silent when systemd did not ask for notifications.
struct SystemdNotifier: Sendable {
    let socketPath: String?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The watchdog interval systemd expects pings within, if it set one for this process.
    static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(microseconds)
    }

    func send(_ message: String) {
        guard let socketPath else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
    }
}

/// While the daemon starts, asks systemd for more time: a schema migration or a search index built for an
/// existing catalogue takes minutes at millions of records, and a start timeout would kill it half-way (rolled
/// back) and restart it, over and over.
enum StartupExtension {
    static let interval: DispatchTimeInterval = .seconds(20)
    static let extensionMicroseconds = 60_000_000

    static func during<T>(_ notifier: SystemdNotifier, status: String, _ body: () throws -> T) rethrows -> T {
        guard notifier.socketPath != nil else { return try body() }
        let message = "EXTEND_TIMEOUT_USEC=\(extensionMicroseconds)\nSTATUS=\(status)"
        notifier.send(message)
        let done = DispatchSemaphore(value: 0)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            while done.wait(timeout: .now() + interval) == .timedOut { notifier.send(message) }
            stopped.signal()
        }
        defer {
            done.signal()
            stopped.wait()
        }
        return try body()
    }
}

/// Socket activation: the listening socket systemd passed (fd 3), when `LISTEN_PID` names this process.
enum SocketActivation {
    static func inheritedDescriptor() -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        defer {
            // Not for children: they would think the socket is theirs.
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pid = environment["LISTEN_PID"], pid == String(getpid()), let count = environment["LISTEN_FDS"].flatMap(Int.init),
            count >= 1
        else { return nil }
        let descriptor: Int32 = 3
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }
}
