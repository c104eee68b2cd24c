import Logging
import Store

#if canImport(Glibc)
import Glibc
#endif

/// Turns what is seen in the drop folders (by scan or by inotify) into claims and refusals, applying the
/// settle rule. Owned by one loop; it does no file work itself.
struct DropScanner {
    enum Action {
        case claim(DropEntry)
        case refuse(DropEntry, reason: String)
    }

    private var settle: SettleRule
    private var settling: [String: DropEntry] = [:]
    private var warned: Set<String> = []
    private let settings: IngestSettings
    private let store: CatalogStore
    private let logger: Logger

    init(settings: IngestSettings, store: CatalogStore, logger: Logger) {
        self.settings = settings
        self.store = store
        self.logger = logger
        settle = SettleRule(settleSeconds: settings.settleSeconds)
    }

    var settlingCount: Int { settling.count }

    /// Every member folder, every entry: at start-up, after an overflow, and now and then as a backstop.
    mutating func scanAll(watcher: DropWatcher) -> [Action] {
        let folders: (members: [String], refused: [DropEntry])
        do {
            folders = try DropFolder.memberFolders(in: settings.dropDirectory)
        } catch {
            logger.error("cannot scan the drop folder", metadata: ["calisd.reason": "\(error)"])
            return []
        }
        for entry in folders.refused where warned.insert("top:" + entry.name).inserted {
            logger.warning(
                "an entry in the drop folder is not a member folder; left alone",
                metadata: ["calisd.name": "\(StateFolders.safeName(entry.name))"])
        }
        var actions: [Action] = []
        for member in folders.members { actions += scanMember(member, watcher: watcher) }
        return actions
    }

    mutating func scanMember(_ member: String, watcher: DropWatcher) -> [Action] {
        guard DropFolder.isMemberCode(member) else { return [] }
        guard (try? store.member(code: member)) != nil else {
            if warned.insert("member:" + member).inserted {
                logger.warning(
                    "a drop folder has no registered member; its files wait until `calisd ctl members add \(member)`",
                    metadata: ["calisd.member": "\(member)"])
            }
            return []
        }
        warned.remove("member:" + member)
        if isSuspended(member) { return [] }
        do {
            try watcher.watch(member: member)
            return try DropFolder.scan(memberFolder: settings.dropDirectory + "/" + member, member: member)
                .flatMap { handle($0, renamedIntoPlace: false) }
        } catch {
            logger.error("cannot scan a member folder", metadata: ["calisd.member": "\(member)", "calisd.reason": "\(error)"])
            return []
        }
    }

    mutating func observe(member: String, name: String, renamedIntoPlace: Bool) -> [Action] {
        guard name != DropFolder.reportsFolder, (try? store.member(code: member)) != nil, !isSuspended(member) else { return [] }
        let folder = settings.dropDirectory + "/" + member
        var status = stat()
        guard lstat(folder + "/" + name, &status) == 0 else {
            forget(folder + "/" + name)
            return []
        }
        return handle(DropFolder.classify(name: name, in: folder, member: member), renamedIntoPlace: renamedIntoPlace)
    }

    /// A suspended member's folder is left as it is (said once until it is resumed).
    private mutating func isSuspended(_ member: String) -> Bool {
        guard (try? store.member(code: member))??.isSuspended == true else {
            warned.remove("suspended:" + member)
            return false
        }
        if warned.insert("suspended:" + member).inserted {
            logger.notice(
                "member suspended: its drop folder waits until `calisd ctl members resume \(member)`", metadata: ["calisd.member": "\(member)"])
        }
        return true
    }

    /// Looks again at files that were settling.
    mutating func recheckSettling() -> [Action] {
        var actions: [Action] = []
        for entry in settling.values {
            actions += observe(member: entry.member, name: entry.name, renamedIntoPlace: false)
        }
        return actions
    }

    private mutating func handle(_ entry: DropEntry, renamedIntoPlace: Bool) -> [Action] {
        switch entry.kind {
        case .candidate(let size, let modified):
            if settle.observe(path: entry.path, size: size, modified: modified, now: Self.monotonicNow(), renamedIntoPlace: renamedIntoPlace) {
                forget(entry.path)
                return [.claim(entry)]
            }
            settling[entry.path] = entry
            return []
        case .waiting:
            forget(entry.path)
            return []
        case .refused(let reason):
            forget(entry.path)
            return [.refuse(entry, reason: reason)]
        }
    }

    private mutating func forget(_ path: String) {
        settling[path] = nil
        settle.forget(path)
    }

    static func monotonicNow() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
