import ArgumentParser
import Config
import Dedup
import Foundation
import Search
import Store

/// Options naming the configuration file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = CalisdConfig.defaultPath

    func load() throws -> CalisdConfig {
        do {
            return try CalisdConfig.load(path: config)
        } catch {
            StandardError.write("calisd: \(error)")
            throw ExitCode(CalisdExit.config)
        }
    }
}

/// Exit statuses by failure class, from sysexits(3), so scripts and systemd can tell them apart.
enum CalisdExit {
    static let config: Int32 = 78  // EX_CONFIG
    static let ioError: Int32 = 74  // EX_IOERR
}

/// `calisd check-config`: read and check a configuration, and say what it resolves to.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file and print what it resolves to.",
        discussion: "Exits 0 when the file is usable, 78 (EX_CONFIG) with FILE:LINE: key: problem when it is not."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        print("config:    \(options.config)")
        print("state_dir: \(config.stateDirectory)")
        print("drop_dir:  \(config.dropDirectory)")
        print("socket:    \(config.socketPath)")
        if let tcp = config.listenTCP { print("tcp:       \(tcp.host):\(tcp.port) (loopback, never admin)") }
        print("database:  \(config.databasePath)")
        print("public:    \(config.publicURL) (SRU at /sru, OAI-PMH at /oai as oai:\(config.repositoryIdentifier):CAL…)")
    }
}

/// `calisd migrate`: apply the catalogue schema's pending migrations, and exit.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations to the catalogue, and exit.",
        discussion: """
            Creates the state folder and the catalogue if they do not exist. The migrations are carried in the \
            binary; running it again applies nothing. Records the search index does not hold (all of them after \
            migration 0020) are indexed, and block keys from before migration 0019 get their conflict sketches, here \
            too: the daemon does both otherwise, the index before it serves. Exits 78 on a bad configuration, 74 when \
            the catalogue cannot be opened or migrated.
            """
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        do {
            try FileManager.default.createDirectory(
                atPath: config.stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            let store = try CatalogStore(path: config.databasePath)
            let applied = try store.appliedMigrations()
            print("\(config.databasePath): \(applied.count) migration(s) applied: \(applied.joined(separator: ", "))")
            let indexed = try store.indexMissingSearchText { SearchText.of($0) }
            if indexed > 0 { print("\(config.databasePath): search index built for \(indexed) records") }
            let sketched = try store.fillMissingConflictSketches(matcher: EngineMatcher()).filled
            if sketched > 0 { print("\(config.databasePath): conflict sketches filled for \(sketched) block keys") }
        } catch {
            StandardError.write("calisd: cannot migrate \(config.databasePath): \(error)")
            throw ExitCode(CalisdExit.ioError)
        }
    }
}
