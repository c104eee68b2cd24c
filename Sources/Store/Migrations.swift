import GRDB

/// The schema's migrations, from `migrations/NNNN_name.sql`, carried in the binary (see
/// `EmbeddedMigrations.swift`), applied in order, each once, each in its own transaction.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in EmbeddedMigrations.all {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }
}
