import CMallocTrim
import Foundation
import Ingest
import Prometheus
import Store
import Synchronization

/// `GET /metrics` in Prometheus's text format: requests by route and status with latency histograms, counted as
/// they are answered; the catalogue, ingest, refresh and database size read when scraped.
public final class APIMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// The registry checks names and help text and takes its lock on every `make…`; a request only needs the
    /// handles, found here by route and status.
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])
    private static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init() {}

    /// One answered request.
    func observe(path: [String], status: UInt, duration: Duration) {
        let route = Self.route(path)
        let counter = counters.withLock { counters in
            let key = "\(route) \(status)"
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "calisd", subsystem: "http", metricName: "requests", unitName: "total", helpText: "Requests answered, by route and status."),
                labels: [("route", route), ("status", String(status))])
            counters[key] = counter
            return counter
        }
        counter.increment()
        let histogram = histograms.withLock { histograms in
            if let histogram = histograms[route] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "calisd", subsystem: "http", metricName: "request_duration", unitName: "seconds", helpText: "Time from a request's head to its answer."),
                labels: [("route", route)], buckets: Self.buckets)
            histograms[route] = histogram
            return histogram
        }
        histogram.record(duration)
    }

    /// The route a path is, with its variable parts as `{}`, so that the labels stay few.
    static func route(_ path: [String]) -> String {
        guard path.count <= 5 else { return "/{other}" }
        return "/" + path.map { literals.contains($0) ? $0 : "{}" }.joined(separator: "/")
    }

    private static let literals: Set<String> = [
        "v1", "metrics", "health", "status", "members", "records", "files", "report", "holdings", "search", "refresh", "changes",
        "verify", "backup", "export", "why", "review", "accept", "reject", "approve", "merge", "split", "unlink", "lock", "tokens",
        "revoke", "sru", "oai", "suspend", "resume", "prune",
    ]

    func exposition(_ context: APIContext) throws -> [UInt8] {
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Int, unit: String = "") {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "calisd", metricName: name, unitName: unit, helpText: help), labels: labels
            ).set(Double(value))
        }
        let counts = try context.store.counts()
        gauge("source_records", "Active member records in the catalogue.", [], counts.sourceRecords)
        gauge("union_records", "Union records in the catalogue.", [], counts.unionRecords)
        gauge("members", "Member libraries.", [], counts.members)
        gauge("review_open", "Near misses waiting in the review queue.", [], counts.reviewOpen)
        let ingest = context.ingest.status.snapshot
        gauge("ingest_queue_depth", "Files claimed and waiting for the ingest worker.", [], ingest.queued)
        gauge("ingest_active", "Files being ingested now.", [], ingest.active)
        let totals = try context.store.ingestTotals()
        for state in ["queued", "active", "done", "held", "rejected", "failed"] {
            gauge("ingest_files", "Submitted files by state, since the catalogue began.", [("state", state)], totals.files[state] ?? 0)
        }
        for outcome in ["read", "added", "changed", "unchanged", "deleted", "rejected"] {
            gauge("ingest_records", "Records of submitted files by outcome, since the catalogue began.", [("outcome", outcome)], totals.records[outcome] ?? 0)
        }
        let now = CatalogStore.now()
        let policies = try context.store.refreshPolicies()
        gauge("refresh_overdue", "Members whose refresh is overdue.", [], policies.filter { $0.failures == 0 && $0.isOverdue(now: now) }.count)
        gauge("refresh_failing", "Members whose last harvests failed.", [], policies.filter { $0.failures > 0 }.count)
        gauge("harvests_running", "OAI-PMH harvests running now.", [], context.refresh.harvesting().count)
        gauge("harvest_failures", "Consecutive failed harvests, summed over members.", [], policies.reduce(0) { $0 + $1.failures })
        var size = 0
        for suffix in ["", "-wal"] {
            var info = stat()
            if stat(context.databasePath + suffix, &info) == 0 { size += Int(info.st_size) }
        }
        gauge("database", "The catalogue's SQLite file and its WAL on disk.", [], size, unit: "bytes")
        if let copies = context.store.walCopies {
            let help = "Copies of the WAL back into the catalogue file, by the checkpointer's thread or by the writer when it was behind."
            gauge("wal_copies", help, [("by", "checkpointer")], copies.completed)
            gauge("wal_copies", help, [("by", "writer")], copies.byWriter)
            gauge("wal_copy_failures", "Copies of the WAL that failed (the writer copies once the WAL is four times its length).", [], copies.failed)
            gauge("wal_pages", "The WAL's length in pages after the last commit.", [], Int(copies.framesAfterLastCommit))
        }
        gauge("memory_trims", "Times freed memory was handed back to the system (glibc's malloc_trim, once a second).", [],
              Int(calisd_malloc_trims()))
        gauge("memory_trimmed", "Resident memory the trims gave back, summed.", [], Int(calisd_malloc_trimmed_bytes()), unit: "bytes")
        return registry.emitToBuffer()
    }
}
