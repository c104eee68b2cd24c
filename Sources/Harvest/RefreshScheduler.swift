import APITypes
import AsyncHTTPClient
import Foundation
import Ingest
import Logging
import NIOCore
import ServiceLifecycle
import Store
import Synchronization

/// Runs every `oai` member's harvest when it is due (the due times live in the catalogue, so they survive
/// restarts), at most `maximumConcurrent` at once; a success is due again one interval (plus jitter) later, a
/// failure after a doubling backoff.
public final class RefreshScheduler: Service, Sendable {
    private let store: CatalogStore
    private let ingest: IngestService
    private let settings: HarvestSettings
    private let logger: Logger
    private let running = Mutex<Set<String>>([])
    private let wakeInput = Mutex<AsyncStream<Void>.Continuation?>(nil)
    /// How often due times are looked at when nothing wakes the scheduler.
    private let tick: Duration

    public init(store: CatalogStore, ingest: IngestService, settings: HarvestSettings, logger: Logger, tick: Duration = .seconds(1)) {
        self.store = store
        self.ingest = ingest
        self.settings = settings
        self.logger = logger
        self.tick = tick
    }

    /// Members being harvested now.
    public var harvesting: Set<String> { running.withLock { $0 } }

    /// Looks at the due times now (a refresh was asked for).
    public func wake() {
        _ = wakeInput.withLock { $0?.yield() }
    }

    public func run() async throws {
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .follow(max: 5, allowCycles: false),
                timeout: .init(connect: .seconds(30), read: .seconds(Int64(settings.requestTimeoutSeconds)))))
        let (wakes, input) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wakeInput.withLock { $0 = input }
        let harvester = OAIHarvester(store: store, ingest: ingest, settings: settings, http: http, logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { [tick] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    input.yield()
                }
            }
            for await _ in wakes.cancelOnGracefulShutdown() {
                for policy in due() {
                    group.addTask { await self.run(policy, harvester: harvester) }
                }
            }
            group.cancelAll()
        }
        wakeInput.withLock { $0 = nil }
        try? await http.shutdown()
    }

    /// The due members to start now, marked running, within the limit.
    private func due() -> [RefreshPolicy] {
        let policies: [RefreshPolicy]
        do {
            policies = try store.dueHarvests()
        } catch {
            logger.error("cannot read the refresh schedule", metadata: ["calisd.reason": "\(error)"])
            return []
        }
        return running.withLock { running in
            var start: [RefreshPolicy] = []
            for policy in policies where !running.contains(policy.member) && running.count < settings.maximumConcurrent {
                running.insert(policy.member)
                start.append(policy)
            }
            return start
        }
    }

    private func run(_ policy: RefreshPolicy, harvester: OAIHarvester) async {
        defer {
            running.withLock { _ = $0.remove(policy.member) }
            wake()
        }
        let member = policy.member
        logger.info(
            "harvest started",
            metadata: ["calisd.member": "\(member)", "calisd.url": "\(policy.oaiURL ?? "")", "calisd.from": "\(policy.harvestFrom ?? "the beginning")"])
        do {
            try store.harvestStarted(member: member)
            let (summary, nextFrom) = try await harvester.harvest(policy)
            let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
            let nextDue = CatalogStore.now() + policy.intervalSeconds + settings.jitter(intervalSeconds: policy.intervalSeconds)
            try store.harvestSucceeded(member: member, from: nextFrom ?? policy.harvestFrom, summary: json, nextDue: nextDue)
            logger.notice(
                "harvest finished",
                metadata: [
                    "calisd.member": "\(member)", "calisd.records": "\(summary.records)", "calisd.deleted": "\(summary.deleted)",
                    "calisd.pages": "\(summary.pages)", "calisd.files": "\(summary.files.count)", "calisd.seconds": "\(summary.seconds)",
                ])
        } catch where error is CancellationError || Task.isCancelled {
            // Shutdown: the due time stays as it was, so the harvest runs again after the restart.
            logger.notice("harvest stopped by shutdown; it runs again at the next start", metadata: ["calisd.member": "\(member)"])
        } catch {
            let failures = policy.failures + 1
            let delay = settings.backoff(failures: failures, intervalSeconds: policy.intervalSeconds)
            let message = "\(error)"
            do {
                try store.harvestFailed(member: member, error: message, nextDue: CatalogStore.now() + delay)
            } catch {
                logger.error("cannot record a failed harvest", metadata: ["calisd.member": "\(member)", "calisd.reason": "\(error)"])
            }
            logger.error(
                "harvest failed",
                metadata: [
                    "calisd.member": "\(member)", "calisd.reason": "\(message)", "calisd.failures": "\(failures)",
                    "calisd.retry_in_seconds": "\(delay)",
                ])
        }
    }
}
