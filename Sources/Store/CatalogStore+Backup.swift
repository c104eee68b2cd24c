import Foundation
import GRDB

extension CatalogStore {
    /// Copies the catalogue to `path` with SQLite's online backup, on one read transaction, so the copy is the
    /// catalogue at one moment while the writer goes on. Written beside `path` and renamed into place when
    /// complete. `progress` gets (pages copied, pages in all) after each step.
    /// - Returns: the number of pages copied.
    /// The catalogue's size in pages: what a backup copies.
    public func pageCount() throws -> Int {
        try writer.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
    }

    public func backup(to path: String, progress: @escaping (Int, Int) -> Void = { _, _ in }) throws -> Int {
        let partial = path + ".calisd-partial"
        unlink(partial)
        var pages = 0
        do {
            let destination = try DatabaseQueue(path: partial)
            try writer.backup(to: destination, pagesPerStep: 4096) { step in
                pages = step.totalPageCount
                progress(step.completedPageCount, step.totalPageCount)
            }
            try destination.close()
        } catch {
            unlink(partial)
            throw StoreError(.invalid, "the backup to \(path) failed: \(error)", cause: error)
        }
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw StoreError(.invalid, "cannot rename the backup into place at \(path): \(reason)")
        }
        return pages
    }
}
