import CSQLiteConfig
import Foundation
import GRDB
import Synchronization

/// The union catalogue in SQLite: one writer, concurrent readers (WAL), the schema applied at open.
///
/// A pool on disk in production; an in-memory queue in tests. Every write goes through `writer.write`, one
/// transaction per closure, so there is one writer however many tasks call in.
public struct CatalogStore: Sendable {
    public let writer: any DatabaseWriter
    /// Counts the writer's commits, so that answers built from an earlier state can tell they are out of date.
    public let commits = CommitCounter()
    /// A catalogue on disk reads ahead for ingest; one in memory has no disk to wait for.
    let readAheadLanes: ReadAheadLanes?
    /// A catalogue on disk copies its WAL back off the writer's thread.
    let checkpointer: WALCheckpointer?
    /// How far the WAL grows, in pages, between copies back into the file: about 40 MiB. A batch rewrites the same
    /// index pages, and each copy writes them back once; fewer copies, fewer writes (the load benchmark measures it).
    static let checkpointPages: Int32 = 10_000

    /// Opens (creating if needed) the catalogue at `path` and applies pending migrations.
    /// - Throws: ``StoreError`` when the file cannot be opened or a migration fails.
    public init(path: String) throws {
        do {
            let pool = try DatabasePool(path: path, configuration: Self.configuration())
            try self.init(writer: pool)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.open, "cannot open the catalogue at \(path)", cause: error)
        }
    }

    /// A catalogue in memory, for tests.
    public static func inMemory() throws -> CatalogStore {
        try CatalogStore(writer: DatabaseQueue(configuration: configuration()))
    }

    public init(writer: any DatabaseWriter) throws {
        try self.init(writer: writer, checkpointPages: Self.checkpointPages)
    }

    init(writer: any DatabaseWriter, checkpointPages: Int32) throws {
        self.writer = writer
        let pool = writer as? DatabasePool
        readAheadLanes = pool.map { ReadAheadLanes(path: $0.path) }
        checkpointer = pool.map { WALCheckpointer(path: $0.path, pages: checkpointPages) }
        do {
            try Migrations.migrator().migrate(writer)
        } catch {
            throw StoreError(.migration, "cannot apply the catalogue schema", cause: error)
        }
        if let pool { checkpointer?.install(on: pool) }
        writer.add(transactionObserver: commits, extent: .databaseLifetime)
    }

    static let writerCacheKiB = 32768
    static let readerCacheKiB = 4096

    /// SQLite's process-wide settings, once, before any connection opens.
    private static let sqliteConfigured: Int32 = calisd_sqlite_configure()

    static func configuration() -> Configuration {
        _ = sqliteConfigured
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL: a crash loses at most the last transactions since a checkpoint's
            // sync, never consistency; ingest records its progress in the same transactions, so it resumes.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // A connection that is not the pool's writer (a backup's, a test's) copies the WAL back itself, at
            // the writer's length (`WALCheckpointer` does it for the writer).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(checkpointPages)")
            // Placement reads index pages all over the file: the writer keeps 32 MiB of them instead of 2 MiB
            // (the load benchmark measures it). A reader's lookup reads a few pages, which the operating system
            // caches as well: 4 MiB each, so that five readers do not hold 160 MiB (the growth benchmark).
            let cacheKiB = db.configuration.readonly ? readerCacheKiB : writerCacheKiB
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
        }
        return configuration
    }

    /// A connection of its own, outside the pool, for work that must take neither the pool's readers (the API
    /// answers from those) nor its writer: read-ahead, the sketch fill's pass, the WAL's copy.
    static func sideConnection(_ path: String, label: String, readonly: Bool = true) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = readonly
        configuration.busyMode = .timeout(1)
        configuration.label = label
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// How the WAL is copied back into the catalogue file; nil for a catalogue in memory, which has none.
    public var walCopies: WALCopyStatus? { checkpointer?.status }

    /// The migrations applied so far, in order.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Migrations.migrator().appliedMigrations(db) }
    }
}

/// The number of transactions the writer has committed since the store opened. It moves after each commit is
/// durable to readers, so a reader that takes the count before it reads knows its answer is current while the
/// count stays the same.
public final class CommitCounter: TransactionObserver, Sendable {
    private let count = Atomic<UInt64>(0)

    public var value: UInt64 { count.load(ordering: .acquiring) }

    // Observes no row events (no update hook on the writer); only commits, which SQLite's commit hook reports.
    public func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    public func databaseDidChange(with event: DatabaseEvent) {}
    public func databaseDidCommit(_ db: Database) { count.add(1, ordering: .releasing) }
    public func databaseDidRollback(_ db: Database) {}
}

/// A store failure; the SQLite error, if any, is kept as the cause.
public struct StoreError: Error, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let open = Code(rawValue: "open")
        public static let migration = Code(rawValue: "migration")
        public static let conflict = Code(rawValue: "conflict")
        public static let invalid = Code(rawValue: "invalid")
        public static let notFound = Code(rawValue: "not-found")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { cause.map { "\(message): \($0)" } ?? message }
}
