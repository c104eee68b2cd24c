import ArgumentParser
import Config
import Daemon

/// `calisd serve`: the daemon, in the foreground.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground: ingest, the union catalogue and its socket API.",
        discussion: """
            Applies pending migrations, adopts the socket systemd passes (LISTEN_FDS) or binds the configured one, \
            and tells systemd READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 when NOTIFY_SOCKET is set. SIGTERM or \
            SIGINT: finish the current batch, commit, exit 0. SIGHUP: reload the configuration. Exits 78 on a bad \
            configuration, 74 when the catalogue cannot be opened.
            """
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        do {
            try await CalisdDaemon.run(config: config, configPath: options.config)
        } catch let error as DaemonError {
            StandardError.write("calisd: \(error)")
            throw ExitCode(CalisdExit.ioError)
        } catch {
            StandardError.write("calisd: \(error)")
            throw ExitCode.failure
        }
    }
}
