import CMallocTrim
import ServiceLifecycle

/// Hands freed memory back to the system once a second (glibc's `malloc_trim`). glibc keeps what an arena once held
/// and returns only the free memory at its top, so a long load's RSS climbs to the sum of every arena's high-water
/// mark: at 4.3 M records the arenas held 449 MB, 143 MB of it in use, and one arena 94 MB for 0.4 MB in use
/// (Benchmarks/HISTORY.md, "Where the peak RSS went"). `/metrics` reports the trims and the bytes they gave back.
struct MemoryTrimService: Service {
    var interval: Duration = .seconds(1)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            _ = calisd_malloc_trim()
            // Shutdown ends the wait; the error only ends the sleep.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
