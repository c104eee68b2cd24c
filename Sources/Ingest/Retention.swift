import Foundation
import Logging
import Store

/// What the archive of submitted files and the change log keep (`[retention]`): files finished more than
/// `archiveDays` ago, and the oldest beyond `archiveMaximumBytes`, leave the archive; change-log entries older
/// than `changesDays` go. Zero keeps for ever. Nothing a resume or a held file needs is touched: those files are
/// in the spool and held/, never in the archive.
public struct Retention: Sendable {
    public var archiveDays: Int
    public var archiveMaximumBytes: Int64
    public var changesDays: Int

    public init(archiveDays: Int = 365, archiveMaximumBytes: Int64 = 0, changesDays: Int = 365) {
        self.archiveDays = archiveDays
        self.archiveMaximumBytes = archiveMaximumBytes
        self.changesDays = changesDays
    }

    public struct Outcome: Sendable, Equatable {
        public var archivedFilesRemoved = 0
        public var bytesRemoved: Int64 = 0
        public var changesRemoved = 0
    }

    public func prune(_ store: CatalogStore, logger: Logger, now: Int64 = CatalogStore.now()) throws -> Outcome {
        var outcome = Outcome()
        let archived = try store.archivedFiles()
        var kept = archived.reduce(Int64(0)) { $0 + $1.size }
        var removed: [Int64] = []
        for file in archived {
            let tooOld = archiveDays > 0 && file.finishedAt < now - Int64(archiveDays) * 86_400
            let tooMuch = archiveMaximumBytes > 0 && kept > archiveMaximumBytes
            guard tooOld || tooMuch else { continue }
            if unlink(file.path) != 0 && errno != ENOENT {
                logger.error(
                    "cannot remove an archived file", metadata: ["calisd.path": "\(file.path)", "calisd.reason": "\(String(cString: strerror(errno)))"])
                continue
            }
            removed.append(file.id)
            kept -= file.size
            outcome.bytesRemoved += file.size
        }
        try store.markArchivePruned(removed)
        outcome.archivedFilesRemoved = removed.count
        if changesDays > 0 {
            outcome.changesRemoved = try store.pruneChanges(before: now - Int64(changesDays) * 86_400)
        }
        if outcome != Outcome() {
            logger.notice(
                "retention pruned",
                metadata: [
                    "calisd.archived_files": "\(outcome.archivedFilesRemoved)", "calisd.bytes": "\(outcome.bytesRemoved)",
                    "calisd.changes": "\(outcome.changesRemoved)",
                ])
        }
        return outcome
    }
}
