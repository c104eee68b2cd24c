import CSQLiteConfig
import Foundation
import GRDB

/// The union catalogue in SQLite: one writer, concurrent readers (WAL), the schema applied at open.
///
/// A pool on disk in production; an in-memory queue in tests. Every write goes through `writer.write`, one
/// transaction per closure, so there is one writer however many tasks call in.
public struct CatalogStore: Sendable {
    public let writer: any DatabaseWriter

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
        self.writer = writer
        do {
            try Migrations.migrator().migrate(writer)
        } catch {
            throw StoreError(.migration, "cannot apply the catalogue schema", cause: error)
        }
    }

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
            // Checkpoint every ~40 MiB of WAL instead of 4 MiB: a batch rewrites the same index pages, and
            // each checkpoint copies them back; fewer checkpoints, fewer copies (the load benchmark measures it).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            // The engine's candidate lookups read index pages all over the file: a 32 MiB page cache per
            // connection instead of 2 MiB (the load benchmark measures it).
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        return configuration
    }

    /// The migrations applied so far, in order.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Migrations.migrator().appliedMigrations(db) }
    }
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
