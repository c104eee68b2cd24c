import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the catalogue file on a thread of its own each time it grows by `pages` pages, instead
/// of on the writer right after the commit that filled it (SQLite's autocheckpoint). At 9.4 M records that copy and
/// its syncs were 13 % of the commit lane's time, and a load waits for the lane while the other core has room
/// (Benchmarks/HISTORY.md).
///
/// The copy is passive, as SQLite's own: it never waits for a reader or the writer. Once the WAL holds
/// `fallbackFactor` times `pages`, the writer copies what is left itself, as SQLite would have, so the WAL stays
/// bounded however far the thread falls behind (a reader holding an old snapshot, a slow disk). Under a steady load
/// that is also when the WAL starts again from its beginning: SQLite does that only for a write that begins after
/// all of the WAL was copied, and the lane's next transaction begins while the thread is still copying.
final class WALCheckpointer: Sendable {
    static let fallbackFactor: Int32 = 4

    private let path: String
    private let pages: Int32
    private let queue = DispatchQueue(label: "calisd.checkpoint")
    /// A copy waits on the queue. It is cleared as the copy starts, so a commit during a copy queues the next.
    private let queued = Atomic<Bool>(false)
    private let state = Mutex(WALCopyStatus())

    init(path: String, pages: Int32) {
        self.path = path
        self.pages = max(1, pages)
    }

    var status: WALCopyStatus { state.withLock { $0 } }

    /// Takes the place of the pool's writer's autocheckpoint. SQLite keeps a pointer to the checkpointer as long
    /// as the connection is open, so it is retained for good: a store opens one pool and keeps it.
    func install(on pool: DatabasePool) {
        let context = Unmanaged.passRetained(self).toOpaque()
        pool.writeWithoutTransaction { db in
            _ = sqlite3_wal_hook(
                db.sqliteConnection,
                { context, connection, schema, frames in
                    guard let context else { return SQLITE_OK }
                    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
                        .committed(frames: frames, connection: connection, schema: schema)
                    return SQLITE_OK
                }, context)
        }
    }

    /// Runs on the writer, after each commit, with the WAL's length in pages. A copy is asked for each time the WAL
    /// has grown by `pages` since the last was asked for, as SQLite's autocheckpoint would: a page that several
    /// transactions change is copied back once in between, not once a transaction.
    private func committed(frames: Int32, connection: OpaquePointer?, schema: UnsafePointer<CChar>?) {
        if frames >= pages * Self.fallbackFactor {
            let code = sqlite3_wal_checkpoint_v2(connection, schema, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            state.withLock {
                $0.framesAfterLastCommit = frames
                if code == SQLITE_OK { $0.byWriter += 1 } else { $0.busy += 1 }
            }
            return
        }
        let due = state.withLock { state in
            state.framesAfterLastCommit = frames
            // Shorter than when the last copy was asked for: the writer has started the WAL again.
            if frames < state.askedAt { state.askedAt = 0 }
            guard frames - state.askedAt >= pages else { return false }
            state.askedAt = frames
            return true
        }
        guard due, !queued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { [self] in
            queued.store(false, ordering: .releasing)
            checkpoint()
        }
    }

    /// One passive copy, on a connection opened for it: between loads the thread holds no file open.
    private func checkpoint() {
        do {
            let connection = try CatalogStore.sideConnection(path, label: "calisd.checkpoint", readonly: false)
            let copy = try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            state.withLock {
                $0.completed += 1
                $0.lastCopy = (copy.walFrameCount, copy.checkpointedFrameCount)
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            state.withLock { $0.busy += 1 }
        } catch {
            state.withLock {
                $0.failed += 1
                $0.lastError = "\(error)"
            }
        }
    }
}

/// How a catalogue's WAL is copied back into its file (``WALCheckpointer``), for the metrics.
public struct WALCopyStatus: Sendable {
    /// Copies the checkpointer's thread made, and copies the writer made because that thread was behind.
    public var completed = 0
    public var byWriter = 0
    /// Copies SQLite refused as busy (another copy running), and copies that failed, with the last failure.
    public var busy = 0
    public var failed = 0
    public var lastError: String?
    /// The WAL's length in pages after the writer's last commit.
    public var framesAfterLastCommit: Int32 = 0
    /// The WAL's length and the pages of it in the file after the thread's last copy.
    var lastCopy: (frames: Int, copied: Int) = (0, 0)
    /// The WAL's length when the last copy was asked for.
    var askedAt: Int32 = 0
}
