import GRDB

/// A finished file whose copy is still in the archive.
public struct ArchivedFile: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var size: Int64
    public var finishedAt: Int64
}

extension CatalogStore {
    /// Finished files (done, rejected, failed) still in the archive, oldest first. Held files are not among them:
    /// they wait in held/ for an admin, and queued or active ones are in the spool.
    public func archivedFiles() throws -> [ArchivedFile] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, archive_path, size, finished_at FROM files
                    WHERE archive_path IS NOT NULL AND finished_at IS NOT NULL AND state IN ('done', 'rejected', 'failed')
                    ORDER BY finished_at, id
                    """
            ).map { ArchivedFile(id: $0["id"], path: $0["archive_path"], size: $0["size"], finishedAt: $0["finished_at"]) }
        }
    }

    /// The archive copies of these files were removed: their records, counts and reports stay.
    public func markArchivePruned(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try writer.write { db in
            let statement = try db.makeStatement(sql: "UPDATE files SET archive_path = NULL WHERE id = ?")
            for id in ids { try statement.execute(arguments: [id]) }
        }
    }

    /// Removes change-log entries older than `cutoff`, always keeping the latest (so a mirror still learns where
    /// the log stands). Returns how many went. A mirror asking for what was removed gets 410.
    public func pruneChanges(before cutoff: Int64) throws -> Int {
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM changes WHERE at < ? AND seq < (SELECT max(seq) FROM changes)", arguments: [cutoff])
            return db.changesCount
        }
    }
}
