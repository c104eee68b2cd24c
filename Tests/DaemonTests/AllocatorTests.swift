import CalisdTesting
import Foundation
import Testing

/// The daemon limits glibc's malloc arenas (AllocatorSettings), unless its environment sets malloc.
@Suite("allocator settings")
struct AllocatorTests {
    @Test("the daemon limits glibc's malloc arenas to two a core, at least four, and glibc takes it")
    func daemonSetsTheAllocator() async throws {
        let daemon = try await DaemonSupport.started(members: [])
        defer { daemon.remove() }
        let arenas = max(4, 2 * min(ProcessInfo.processInfo.activeProcessorCount, 64))
        let line = daemon.log.split(separator: "\n").first { $0.contains("allocator") }.map(String.init) ?? ""
        #expect(line.contains("allocator set"), "\(daemon.log)")
        #expect(line.contains("calisd.arenas=\(arenas)"), "\(line)")
        #expect(try await daemon.stop() == 0)
    }

    @Test("an administrator's MALLOC_ARENA_MAX or GLIBC_TUNABLES for malloc is left as it is")
    func environmentWins() async throws {
        for environment in [["MALLOC_ARENA_MAX": "8"], ["GLIBC_TUNABLES": "glibc.malloc.arena_max=8"]] {
            let daemon = try DaemonProcess(binary: DaemonSupport.binary, config: "[ingest]\nsettle_seconds = 1\n")
            defer { daemon.remove() }
            try await daemon.start(environment: environment)
            #expect(daemon.log.contains("allocator left as the environment sets it"), "\(environment): \(daemon.log)")
            #expect(!daemon.log.contains("allocator set"), "\(environment)")
            #expect(try await daemon.stop() == 0)
        }
    }
}
