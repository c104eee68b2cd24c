import API
import Config
import Dedup
import Foundation
import Harvest
import Ingest
import Logging
import Search
import ServiceLifecycle
import Store
import UnixSignals

/// `calisd serve`: opens the catalogue (applying migrations), then runs ingest, the API and the systemd
/// companion as one service group. SIGTERM/SIGINT shut down in reverse order: the API stops taking requests,
/// ingest commits its current batch, and the process exits 0. SIGHUP reloads what can change live.
public enum CalisdDaemon {
    public static let version = "0.4.0-dev"

    /// Raises the soft open-files limit to the hard one (systemd's LimitNOFILE, or the shell's): each of the
    /// 794 members' connections is a descriptor, and the default soft limit of 1024 would refuse the rest.
    /// - Returns: the soft limit now.
    static func raiseOpenFilesLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }

    public static func run(config: CalisdConfig, configPath: String) async throws {
        LoggingSystem.bootstrap { JournalLogHandler(label: $0) }
        let logger = Logger(label: "calisd")
        let notifier = SystemdNotifier()
        let store: CatalogStore
        let lock: Int32
        do {
            try FileManager.default.createDirectory(
                atPath: config.stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            lock = try Self.lockStateFolder(config.stateDirectory)
            store = try StartupExtension.during(notifier, status: "opening the catalogue, applying schema migrations") {
                try CatalogStore(path: config.databasePath)
            }
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError.store("cannot open the catalogue at \(config.databasePath): \(error)")
        }
        defer { close(lock) }
        do {
            // A catalogue from before search (or restored from elsewhere) is indexed before ingest writes to it.
            let indexed = try StartupExtension.during(notifier, status: "building the search index of existing records") {
                try store.indexMissingSearchText { SearchText.of($0) }
            }
            if indexed > 0 { logger.notice("search index built for existing records", metadata: ["calisd.count": "\(indexed)"]) }
        } catch {
            throw DaemonError.store("cannot build the search index of \(config.databasePath): \(error)")
        }
        let matcher = EngineMatcher()
        let openFiles = Self.raiseOpenFilesLimit()
        logger.info("open files limit", metadata: ["calisd.nofile": "\(openFiles)"])
        let live = LiveSettings(Self.liveValues(config))
        let status = IngestStatus()
        let settings = IngestSettings(
            stateDirectory: config.stateDirectory, dropDirectory: config.dropDirectory, settleSeconds: config.settleSeconds,
            batchSize: config.batchSize)
        let ingestor = FileIngestor(
            store: store, settings: settings, matcher: matcher, keys: { MatchKeyExtractor.keys(of: $0) },
            status: status, live: live, logger: logger)
        let ingest = IngestService(ingestor: ingestor)
        IngestService.clearCutOffUploads(stateDirectory: config.stateDirectory, logger: logger)

        let listener: HTTPServer.Listener
        if let descriptor = SocketActivation.inheritedDescriptor() {
            listener = .descriptor(descriptor)
        } else {
            let folder = (config.socketPath as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            listener = .path(config.socketPath)
        }
        let scheduler = RefreshScheduler(
            store: store, ingest: ingest,
            settings: HarvestSettings(
                stateDirectory: config.stateDirectory, maximumConcurrent: config.maxConcurrentHarvests,
                retryAfterSeconds: config.harvestRetrySeconds, requestTimeoutSeconds: config.harvestTimeoutSeconds,
                jitterPercent: config.harvestJitterPercent),
            logger: logger)
        let retention = Retention(
            archiveDays: config.archiveDays, archiveMaximumBytes: Int64(config.archiveMaxMegabytes) << 20, changesDays: config.changesDays)
        let context = APIContext(
            store: store, ingest: ingest, dropDirectory: config.dropDirectory,
            uploadsDirectory: config.stateDirectory + "/uploads", databasePath: config.databasePath, live: live,
            version: version, refresh: RefreshControl(requested: { scheduler.wake() }, harvesting: { scheduler.harvesting }),
            retention: retention,
            publication: Publication(
                publicURL: config.publicURL, repositoryName: config.repositoryName, adminEmail: config.adminEmail,
                repositoryIdentifier: config.repositoryIdentifier, recordsPerResponse: config.oaiRecordsPerResponse),
            answerCacheBytes: config.answerCacheMegabytes << 20)
        let server = HTTPServer(
            listener: listener, tcp: config.listenTCP.map { ($0.host, $0.port) }, idleTimeoutSeconds: config.idleTimeoutSeconds,
            context: context, logger: logger
        ) {
            notifier.send("READY=1\nSTATUS=serving\nMAINPID=\(getpid())")
            logger.info("calisd ready", metadata: ["calisd.version": "\(version)"])
        }
        let companion = SystemdCompanion(notifier: notifier, store: store, status: status, logger: logger)
        let reload = ReloadOnHangup(configPath: configPath, running: config, live: live, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ingest, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    // After ingest, so it stops first and its last batch is handed to an ingest still running.
                    .init(service: scheduler, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: reload),
                    .init(service: RetentionService(store: store, retention: retention, logger: logger)),
                    .init(service: MemoryTrimService()),
                    // Ends once the fill is done (or at once when there is none); the others go on.
                    .init(
                        service: ConflictSketchService(store: store, matcher: matcher, logger: logger),
                        successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                    // Last, so it is the first to hear of shutdown and says STOPPING=1 at once.
                    .init(service: companion),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        notifier.send("STATUS=stopped")
        logger.info("calisd stopped")
    }

    /// One daemon per state folder: a second would claim the same files and bind over the first's socket.
    static func lockStateFolder(_ folder: String) throws -> Int32 {
        let path = folder + "/calisd.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw DaemonError.store("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw DaemonError.store("another calisd is running with the state folder \(folder) (\(path) is locked)")
        }
        return descriptor
    }

    static func liveValues(_ config: CalisdConfig) -> LiveSettings.Values {
        LiveSettings.Values(
            withdrawalGuard: config.withdrawalGuardPercent / 100, adminGroup: config.adminGroup,
            maximumUploadBytes: Int64(config.maxUploadMegabytes) << 20, staleAfterSeconds: Int64(config.staleAfterDays) * 86_400)
    }
}

/// Why the daemon could not start, by class, so `calisd serve` exits with the status systemd expects.
public enum DaemonError: Error, CustomStringConvertible {
    case store(String)

    public var description: String {
        switch self {
        case .store(let message): message
        }
    }
}

/// Applies the retention settings at start and every hour after.
struct RetentionService: Service {
    let store: CatalogStore
    let retention: Retention
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try retention.prune(store, logger: logger)
            } catch {
                logger.error("retention could not prune", metadata: ["calisd.reason": "\(error)"])
            }
            // Shutdown ends the wait; the error only ends the sleep.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3_600)) }
        }
    }
}

/// Pings systemd's watchdog with the catalogue's state as STATUS, and says STOPPING=1 when shutdown starts.
struct SystemdCompanion: Service {
    let notifier: SystemdNotifier
    let store: CatalogStore
    let status: IngestStatus
    let logger: Logger

    func run() async throws {
        let interval = SystemdNotifier.watchdogInterval().map { $0 / 2 } ?? .seconds(10)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    ping()
                    try? await Task.sleep(for: interval)
                }
            }
            group.addTask { try? await gracefulShutdown() }
            // The first to end is the shutdown (the pinger never ends by itself).
            await group.next()
            group.cancelAll()
        }
        notifier.send("STOPPING=1\nSTATUS=stopping: finishing the current batch")
    }

    private func ping() {
        var line = "WATCHDOG=1"
        if let counts = try? store.counts() {
            let ingest = status.snapshot
            line += "\nSTATUS=\(counts.sourceRecords) records, \(counts.unionRecords) union records; "
                + "ingest \(ingest.active) active, \(ingest.queued) queued"
        }
        notifier.send(line)
    }
}

/// SIGHUP: reads the configuration again. admin_group, max_upload_mb, withdrawal_guard_percent and
/// holdings.stale_after_days change at
/// once; a change to anything else is logged as needing a restart. A broken file changes nothing.
struct ReloadOnHangup: Service {
    let configPath: String
    let running: CalisdConfig
    let live: LiveSettings
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                let config = try CalisdConfig.load(path: configPath)
                live.update(CalisdDaemon.liveValues(config))
                var restart: [String] = []
                if config.stateDirectory != running.stateDirectory { restart.append("state_dir") }
                if config.dropDirectory != running.dropDirectory { restart.append("drop_dir") }
                if config.socketPath != running.socketPath { restart.append("socket") }
                if config.listenTCP != running.listenTCP { restart.append("api.listen_tcp") }
                if config.settleSeconds != running.settleSeconds { restart.append("ingest.settle_seconds") }
                if config.batchSize != running.batchSize { restart.append("ingest.batch_size") }
                if config.archiveDays != running.archiveDays || config.archiveMaxMegabytes != running.archiveMaxMegabytes
                    || config.changesDays != running.changesDays
                {
                    restart.append("retention")
                }
                if config.maxConcurrentHarvests != running.maxConcurrentHarvests || config.harvestRetrySeconds != running.harvestRetrySeconds
                    || config.harvestTimeoutSeconds != running.harvestTimeoutSeconds || config.harvestJitterPercent != running.harvestJitterPercent
                {
                    restart.append("refresh")
                }
                logger.notice(
                    "configuration reloaded",
                    metadata: restart.isEmpty ? [:] : ["calisd.restart_needed_for": "\(restart.joined(separator: ","))"])
            } catch {
                logger.error("configuration not reloaded; the running one stays", metadata: ["calisd.reason": "\(error)"])
            }
        }
    }
}
