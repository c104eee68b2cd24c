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
    /// the log stands), `chunk` entries a transaction so ingest is not held up. Returns how many went. A mirror
    /// asking for what was removed gets 410.
    ///
    /// The log is appended in time order, so its old entries are its head: reading from the oldest to the first
    /// entry inside the window touches only the rows that go. A condition on `at` alone scanned the whole log (an
    /// index on it would cost every change a write), which at 8 M records held the writer for many minutes each
    /// start and hour. If the clock once stepped back, an old entry behind a newer one waits for the head.
    public func pruneChanges(before cutoff: Int64, chunk: Int = 10_000) throws -> Int {
        precondition(chunk > 0)
        var removed = 0
        while true {
            let (count, headIsOld) = try writer.write { db -> (Int, Bool) in
                guard let latest = try Int64.fetchOne(db, sql: Self.latestChangeSQL) else { return (0, false) }
                // A cursor steps SQLite only as far as it is read: no further than the first entry that stays.
                let head = try Row.fetchCursor(db, sql: Self.changeLogHeadSQL, arguments: [latest, chunk])
                var last: Int64?
                var old = 0
                while let entry = try head.next(), (entry["at"] as Int64) < cutoff {
                    last = entry["seq"]
                    old += 1
                }
                guard let last else { return (0, false) }
                try db.execute(sql: Self.removeChangesThroughSQL, arguments: [last])
                return (db.changesCount, old == chunk)
            }
            removed += count
            if !headIsOld { return removed }
        }
    }

    static let latestChangeSQL = "SELECT max(seq) FROM changes"
    static let changeLogHeadSQL = "SELECT seq, at FROM changes WHERE seq < ? ORDER BY seq LIMIT ?"
    static let removeChangesThroughSQL = "DELETE FROM changes WHERE seq <= ?"
}
