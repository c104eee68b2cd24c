import CMallocConfig

/// glibc's malloc, set for a daemon that ingests on a dozen threads for hours. By default glibc gives a thread that
/// meets a busy arena an arena of its own, up to eight a core, and each arena keeps the memory it once held. At
/// 1.9 M records that was 297 MB in the arenas, 106 MB of it in use. Four arenas (two a core on a larger machine)
/// took the peak RSS of a 2 M load from 338 to 289 MiB, with records/s inside the runs' spread (the growth
/// benchmark; Benchmarks/HISTORY.md, "Where the peak RSS went").
struct AllocatorSettings: Equatable {
    var arenas: Int32

    /// The settings for `cores` cores; nil when the environment sets glibc's malloc itself, because an
    /// administrator's `MALLOC_ARENA_MAX` (or any `MALLOC_…`) or `GLIBC_TUNABLES=glibc.malloc.…` wins.
    static func forDaemon(environment: [String: String], cores: Int) -> AllocatorSettings? {
        let setByEnvironment = environment.keys.contains { $0.hasPrefix("MALLOC_") }
            || (environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.") ?? false)
        if setByEnvironment { return nil }
        return AllocatorSettings(arenas: Int32(max(4, 2 * min(cores, 64))))
    }

    /// - Returns: false when glibc refused the setting.
    func apply() -> Bool { calisd_malloc_set_arenas(arenas) == 1 }
}
