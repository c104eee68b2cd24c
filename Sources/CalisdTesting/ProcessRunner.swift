import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs programs for tests that drive real binaries and oracles. It spawns with posix_spawn and reaps with
/// waitpid itself: Foundation's `Process` on Linux blocks in wait4 on one long-lived child (a daemon under
/// test) and then never reaps the short ones.
public enum ProcessRunner {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// The first executable called `name` on the PATH.
    public static func find(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable` (a path, or a name looked up on the PATH) with `arguments`, feeding `input`, and waits
    /// for it; the exit status is negative when a signal ended it.
    public static func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> Output {
        let path = executable.contains("/") ? executable : find(executable)
        guard let path else { throw CocoaError(.fileNoSuchFile) }
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        var inPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0, pipe(&inPipe) == 0 else { throw CocoaError(.fileWriteUnknown) }
        // Close-on-exec, so other children spawned meanwhile do not hold these pipes open.
        for descriptor in outPipe + errPipe + inPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let pid = try spawn(path, arguments, stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1])
        close(outPipe[1])
        close(errPipe[1])
        close(inPipe[0])
        // The input is written from a thread of its own, so a child that prints before reading never deadlocks.
        let writer = Thread { [input, descriptor = inPipe[1]] in
            if let input { input.withUnsafeBytes { writeAll(descriptor, $0) } }
            close(descriptor)
        }
        writer.start()
        var stdout = Data()
        var stderr = Data()
        var open = [(outPipe[0], true), (errPipe[0], false)]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty {
            var polls = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            if poll(&polls, nfds_t(polls.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for (index, entry) in polls.enumerated().reversed() where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if open[index].1 { stdout.append(contentsOf: buffer[..<count]) } else { stderr.append(contentsOf: buffer[..<count]) }
                } else if count == 0 || errno != EINTR {
                    close(entry.fd)
                    open.remove(at: index)
                }
            }
        }
        while !writer.isFinished { usleep(1_000) }
        return Output(status: waitForExit(pid), stdout: stdout, stderr: stderr)
    }

    /// ``run(_:_:input:)`` on a thread of its own, so a long child (a harvester, a load generator) does not
    /// hold one of the few threads async tests share.
    public static func runDetached(_ executable: String, _ arguments: [String], input: Data? = nil) async throws -> Output {
        try await onOwnThread { try run(executable, arguments, input: input) }
    }

    /// Starts a program with the given descriptors as its standard streams.
    public static func spawn(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Int32, stdout: Int32, stderr: Int32
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        // The child starts with no signal blocked and default handlers: the test runner blocks signals (SIGTERM
        // among them), and a child inheriting that mask would never end on kill(pid, SIGTERM).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, env)
        guard result == 0 else { throw CocoaError(.executableLoad, userInfo: [NSFilePathErrorKey: path]) }
        return pid
    }

    /// Waits for `pid` and returns its exit status, or minus the signal that ended it.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return exitStatus(status)
    }

    static func exitStatus(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : -signal
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Runs blocking work (a child process, a socket, minutes of reading) on a thread of its own, off the few threads
/// async tests share: a test holding one makes the others' waits run out while they wait for a thread.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
