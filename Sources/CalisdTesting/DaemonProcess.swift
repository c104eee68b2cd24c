import APIClient
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `calisd serve` on a scratch folder: its config, drop folders, state and socket all under `root`.
/// Tests drive it through the socket and the drop folders, as members and admins do.
public final class DaemonProcess: @unchecked Sendable {
    public let root: URL
    public let binary: String
    public var configPath: String { root.appendingPathComponent("calisd.toml").path }
    public var socketPath: String { root.appendingPathComponent("calisd.sock").path }
    public var dropDirectory: String { root.appendingPathComponent("drop").path }
    public var stateDirectory: String { root.appendingPathComponent("state").path }
    public var logPath: String { root.appendingPathComponent("calisd.log").path }
    public var client: APIClient { APIClient(socketPath: socketPath) }
    /// The running daemon (or its launcher), and its exit status once reaped.
    private var process: pid_t?
    private var exitStatus: Int32?

    /// - Parameter config: TOML appended to the three paths (sections such as `[ingest]`).
    public init(binary: String, config: String = "[ingest]\nsettle_seconds = 1\n") throws {
        self.binary = binary
        // Short: a Unix socket path holds at most 107 bytes.
        root = URL(fileURLWithPath: "/tmp/calisd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let text = "state_dir = \"state\"\ndrop_dir = \"drop\"\nsocket = \"calisd.sock\"\n" + config
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        if let process, isRunning {
            kill(process, SIGKILL)
            _ = ProcessRunner.waitForExit(process)
        }
    }

    /// Removes the scratch folder (after stopping the daemon).
    public func remove() {
        if let process, isRunning {
            kill(process, SIGKILL)
            _ = ProcessRunner.waitForExit(process)
            self.process = nil
        }
        try? FileManager.default.removeItem(at: root)
    }

    public var pid: Int32? { process }

    /// Reaps the daemon if it has ended.
    public var isRunning: Bool {
        guard let process else { return false }
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let result = waitpid(process, &status, WNOHANG)
        if result == process {
            exitStatus = ProcessRunner.exitStatus(status)
            return false
        }
        return result == 0
    }

    /// Starts the daemon and waits until it answers `/v1/health` (generously: the whole suite starts dozens of
    /// daemons at once on two cores).
    /// - Parameter launcher: a program that starts calisd for us (`systemd-socket-activate -l SOCKET`).
    public func start(environment: [String: String] = [:], launcher: [String] = [], timeout: Duration = .seconds(120)) async throws {
        let command = launcher + [binary, "serve", "--config", configPath]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "JOURNAL_STREAM")
        env.removeValue(forKey: "NOTIFY_SOCKET")
        for (key, value) in environment { env[key] = value }
        let log = open(logPath + ".tmp", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            close(log)
            close(null)
        }
        process = try ProcessRunner.spawn(command[0], Array(command.dropFirst()), environment: env, stdin: null, stdout: log, stderr: log)
        exitStatus = nil
        try await waitUntil("the daemon answers /v1/health", timeout: timeout) {
            guard self.isRunning else { throw DaemonTestError("calisd exited with \(self.exitStatus ?? -1):\n\(self.log)") }
            return (try? await self.client.request("GET", "/v1/health"))?.status == 200
        }
    }

    /// What the daemon logged, all runs together.
    public var log: String {
        (try? String(contentsOfFile: logPath + ".tmp", encoding: .utf8)) ?? ""
    }

    /// Sends `signal` and waits for the process to end; returns its exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(60)) async throws -> Int32 {
        guard let process else { return -1 }
        kill(process, signal)
        try await waitUntil("calisd exits after signal \(signal)", timeout: timeout) { !self.isRunning }
        self.process = nil
        return exitStatus ?? -1
    }

    // MARK: The socket

    public func get(_ target: String) async throws -> APIClient.Response {
        try await client.request("GET", target)
    }

    public func json<Body: Decodable>(_ type: Body.Type, _ target: String) async throws -> Body {
        let response = try await get(target)
        guard response.status == 200 else { throw DaemonTestError("GET \(target): HTTP \(response.status) \(response.text)") }
        return try JSONDecoder().decode(type, from: Data(response.body))
    }

    /// Runs `calisd ctl --socket … ARGS` as its own process.
    public func ctl(_ arguments: String...) throws -> ProcessRunner.Output {
        try ProcessRunner.run(binary, ["ctl", "--socket", socketPath] + arguments)
    }

    // MARK: The drop folders

    public func memberFolder(_ member: String) -> String { dropDirectory + "/" + member }

    /// Puts a file into a member's folder the way SFTP clients do: written under a dot name, then renamed.
    public func drop(_ bytes: [UInt8], member: String, name: String) throws {
        let folder = memberFolder(member)
        let temporary = folder + "/." + name + ".part"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw DaemonTestError("cannot write \(temporary)")
        }
        guard rename(temporary, folder + "/" + name) == 0 else { throw DaemonTestError("cannot rename into \(folder)") }
    }

    /// The entries of a member's folder other than `reports`.
    public func entries(member: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: memberFolder(member))) ?? []).filter { $0 != "reports" }.sorted()
    }

    public func report(member: String, name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: memberFolder(member) + "/reports/" + name + ".report.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }
}

/// Polls `condition` every 50 ms until it holds, or fails with `what` after `timeout`.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    // The condition is asked once more after the deadline: on a loaded machine this task may wake from its
    // sleep long after the deadline, when what it waited for happened meanwhile.
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= deadline { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw DaemonTestError("timed out waiting until \(what)")
}

public struct DaemonTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
