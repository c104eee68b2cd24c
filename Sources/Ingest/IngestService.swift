import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// The ingest side of the daemon: watches the drop folders, applies the settle rule, claims and refuses
/// entries, and feeds one worker that reads files one at a time and hands their batches to one commit lane (the
/// catalogue has one writer).
public final class IngestService: Service, Sendable {
    enum Job: Sendable {
        case register(path: String, member: String, name: String)
        case process(Int64)
        case rejectHeld(Int64)
    }

    private struct WorkState {
        var jobs: [Job] = []
        var draining = false
        var stopping = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public let ingestor: FileIngestor
    public let status: IngestStatus
    private let settings: IngestSettings
    private let logger: Logger
    private let work = Mutex(WorkState())
    /// The running loop's input, so others can ask it to look at a folder (a member just added).
    private let loopInput = Mutex<AsyncStream<DropWatcher.Event?>.Continuation?>(nil)
    private let worker = DispatchQueue(label: "calisd.ingest.worker")
    /// How often an unchanged folder is scanned in full, as a backstop to inotify.
    private let scanInterval: Duration

    public init(ingestor: FileIngestor, scanInterval: Duration = .seconds(60)) {
        self.ingestor = ingestor
        self.status = ingestor.status
        self.settings = ingestor.settings
        self.logger = ingestor.logger
        self.scanInterval = scanInterval
    }

    public func run() async throws {
        try prepare()
        let watcher = try DropWatcher(dropDirectory: settings.dropDirectory)
        defer { watcher.stop() }
        var scanner = DropScanner(settings: settings, store: ingestor.store, logger: logger)
        // inotify's thread and the clock feed one stream, so one loop owns the settle rule.
        let (events, input) = AsyncStream<DropWatcher.Event?>.makeStream(bufferingPolicy: .unbounded)
        watcher.start { input.yield($0) }
        loopInput.withLock { $0 = input }
        defer { loopInput.withLock { $0 = nil } }
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    // Cancelled at shutdown: the error only ends the sleep, not the service.
                    try? await Task.sleep(for: .milliseconds(250))
                    input.yield(nil)
                }
            }
            await loop(events, scanner: &scanner, watcher: watcher)
            group.cancelAll()
        }
        await stopWorker()
    }

    private func loop(
        _ events: AsyncStream<DropWatcher.Event?>, scanner: inout DropScanner, watcher: DropWatcher
    ) async {
        apply(scanner.scanAll(watcher: watcher))
        status.scanned(overflow: false)
        var lastScan = ContinuousClock.now
        for await event in events.cancelOnGracefulShutdown() {
            switch event {
            case .overflow:
                logger.warning("inotify queue overflowed: scanning every drop folder again")
                apply(scanner.scanAll(watcher: watcher))
                status.scanned(overflow: true)
                lastScan = .now
            case .folder(let name):
                apply(scanner.scanMember(name, watcher: watcher))
            case .entry(let member, let name, let renamed):
                apply(scanner.observe(member: member, name: name, renamedIntoPlace: renamed))
            case nil:
                if ContinuousClock.now - lastScan >= scanInterval {
                    apply(scanner.scanAll(watcher: watcher))
                    status.scanned(overflow: false)
                    lastScan = .now
                } else {
                    apply(scanner.recheckSettling())
                }
            }
            status.setSettling(scanner.settlingCount)
        }
    }

    /// Removes uploads a previous run left half-received (a complete one moves to the spool at once, so the
    /// client never got a file id for these and will send them again). Before the API starts taking uploads.
    /// Harvest batches cut off the same way are removed too: their harvest never finished, and runs again from the
    /// same `from`.
    public static func clearCutOffUploads(stateDirectory: String, logger: Logger) {
        for folder in ["uploads", "harvest"] {
            let path = stateDirectory + "/" + folder
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                logger.notice("removing a file cut off by the last stop", metadata: ["calisd.name": "\(folder)/\(name)"])
                try? FileManager.default.removeItem(atPath: path + "/" + name)
            }
        }
    }

    /// Creates the state folders, says whether claims are atomic renames, and queues what a previous run left:
    /// unfinished files first, then files in the spool that were claimed but never registered.
    func prepare() throws {
        for folder in ["spool", "archive", "held", "refused", "uploads", "harvest"] {
            try StateFolders.ensure(settings.stateDirectory + "/" + folder)
        }
        try StateFolders.ensure(settings.dropDirectory)
        if !StateFolders.sameFilesystem(settings.dropDirectory, settings.stateDirectory + "/spool") {
            logger.warning(
                "the state folder is on another filesystem than the drop folder: files are claimed by a synced copy, not one atomic rename",
                metadata: ["calisd.state_dir": "\(settings.stateDirectory)", "calisd.drop_dir": "\(settings.dropDirectory)"])
        }
        let unfinished = try ingestor.store.unfinishedFiles()
        let known = Set(unfinished.compactMap(\.spoolPath))
        for file in unfinished {
            logger.info("resuming file", metadata: ["calisd.file": "\(file.id)", "calisd.progress": "\(file.progress)"])
            enqueue(.process(file.id))
        }
        for id in try ingestor.store.rejectsNotEnded() {
            logger.info("finishing a rejected held file", metadata: ["calisd.file": "\(id)"])
            enqueue(.rejectHeld(id))
        }
        let spool = settings.stateDirectory + "/spool"
        for member in (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? [] where DropFolder.isMemberCode(member) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + member)) ?? [] {
                let path = spool + "/" + member + "/" + name
                guard !known.contains(path), !name.hasSuffix(".claiming"), let dash = name.firstIndex(of: "-") else { continue }
                do {
                    if let recorded = try ingestor.store.recordedDestination(member: member, spoolName: name) {
                        // Finished or held, and the last run stopped before moving it.
                        logger.notice(
                            "moving a finished file where it was recorded to go",
                            metadata: ["calisd.file": "\(recorded.id)", "calisd.path": "\(recorded.path)"])
                        try StateFolders.ensure((recorded.path as NSString).deletingLastPathComponent)
                        try Claim.move(path, to: recorded.path)
                        continue
                    }
                } catch {
                    // Left in the spool, where an admin finds it; registering it would ingest it twice.
                    logger.error("cannot move a finished file on", metadata: ["calisd.path": "\(path)", "calisd.reason": "\(error)"])
                    continue
                }
                logger.info("registering a claimed file found in the spool", metadata: ["calisd.path": "\(path)"])
                enqueue(.register(path: path, member: member, name: String(name[name.index(after: dash)...])))
            }
        }
    }

    private func apply(_ actions: [DropScanner.Action]) {
        for action in actions {
            switch action {
            case .claim(let entry):
                do {
                    let spool = ingestor.folders.spool(entry.member)
                    try StateFolders.ensure(spool)
                    let target = spool + "/" + StateFolders.uniqueName(for: entry.name)
                    try Claim.move(entry.path, to: target)
                    enqueue(.register(path: target, member: entry.member, name: entry.name))
                } catch {
                    logger.error("cannot claim a file", metadata: ["calisd.path": "\(entry.path)", "calisd.reason": "\(error)"])
                }
            case .refuse(let entry, let reason):
                do {
                    try ingestor.refuse(entry, reason: reason)
                } catch {
                    logger.error("cannot refuse an entry", metadata: ["calisd.path": "\(entry.path)", "calisd.reason": "\(error)"])
                }
            }
        }
    }

    /// A member was added: its folder may already hold files (dropped before it was registered), and a folder
    /// that existed before gives inotify nothing to report.
    public func memberAdded(_ code: String) {
        _ = loopInput.withLock { $0?.yield(.folder(name: code)) }
    }

    /// A complete file calisd received for a member (uploaded over the socket, or a harvested batch): moved into
    /// the spool and registered now (so the caller gets its id), then queued.
    public func submit(received path: String, member: String, name: String) throws -> Int64 {
        let spool = ingestor.folders.spool(member)
        try StateFolders.ensure(spool)
        let target = spool + "/" + StateFolders.uniqueName(for: name)
        try Claim.move(path, to: target)
        let id = try ingestor.register(spooled: target, member: member, name: name)
        enqueue(.process(id))
        return id
    }

    /// An admin's decision on a held file.
    public func decide(fileID: Int64, approve: Bool) throws -> SubmittedFile {
        let file = try ingestor.store.decideHeld(id: fileID, approve: approve)
        logger.notice(
            approve ? "held file approved" : "held file rejected", metadata: ["calisd.file": "\(fileID)", "calisd.member": "\(file.member)"])
        enqueue(approve ? .process(fileID) : .rejectHeld(fileID))
        return file
    }

    func enqueue(_ job: Job) {
        let start = work.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.jobs.append(job)
            if state.draining { return false }
            state.draining = true
            return true
        }
        status.setClaimed(work.withLock { $0.jobs.count })
        if start { worker.async { self.drain() } }
    }

    private func drain() {
        while true {
            let job = work.withLock { state -> Job? in
                guard !state.stopping, !state.jobs.isEmpty else {
                    state.draining = false
                    return nil
                }
                return state.jobs.removeFirst()
            }
            guard let job else { break }
            if case .register(let path, let member, let name) = job {
                // A chunk of claims is registered at once: the register's write waits for the lane's commit.
                let more = work.withLock { state -> [(String, String, String)] in
                    let count = state.jobs.prefix { if case .register = $0 { true } else { false } }.count
                    let taken = state.jobs.prefix(count).compactMap { job -> (String, String, String)? in
                        if case .register(let path, let member, let name) = job { (path, member, name) } else { nil }
                    }
                    state.jobs.removeFirst(count)
                    return taken
                }
                register([(path, member, name)] + more)
                continue
            }
            status.setClaimed(work.withLock { $0.jobs.count })
            run(job)
        }
        let waiters = work.withLock { state -> [CheckedContinuation<Void, Never>] in
            let waiters = state.idleWaiters
            state.idleWaiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func register(_ spooled: [(path: String, member: String, name: String)]) {
        let results: [Result<Int64, any Error>]
        do {
            results = try ingestor.register(spooled)
        } catch {
            results = spooled.map { _ in .failure(error) }
        }
        for (index, ((path, _, _), result)) in zip(spooled, results).enumerated() {
            status.setClaimed(work.withLock { $0.jobs.count } + spooled.count - index - 1)
            switch result {
            case .success(let id):
                // Registered and queued: stopped now, the next start resumes it.
                if isStopping { continue }
                run(.process(id))
            case .failure(let error):
                logger.error("ingest failed", metadata: ["calisd.path": "\(path)", "calisd.reason": "\(error)"])
            }
        }
    }

    private func run(_ job: Job) {
        do {
            switch job {
            case .register(let path, let member, let name):
                register([(path, member, name)])
            case .process(let id):
                // A record file is handed to the commit lane, which ends it; the worker goes on to the next.
                let started = try ingestor.begin(fileID: id) { self.isStopping }
                if case .ended(.interrupted) = started {
                    logger.notice("stopped between batches; the file resumes at the next start", metadata: ["calisd.file": "\(id)"])
                }
            case .rejectHeld(let id):
                try ingestor.rejectHeld(fileID: id)
            }
        } catch {
            logger.error("ingest failed", metadata: ["calisd.job": "\(job)", "calisd.reason": "\(error)"])
            if case .process(let id) = job { ingestor.fail(fileID: id, reason: "\(error)") }
        }
    }

    private var isStopping: Bool { work.withLock { $0.stopping } }

    /// Stops taking jobs, lets what was handed over commit, and returns when the worker and the lane are idle.
    func stopWorker() async {
        await withCheckedContinuation { continuation in
            let idle = work.withLock { state -> Bool in
                state.stopping = true
                if !state.draining { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
        await withCheckedContinuation { continuation in ingestor.lane.whenIdle { continuation.resume() } }
    }
}
