import GRDB

/// The schema's migrations, from `migrations/NNNN_name.sql`, carried in the binary (see
/// `EmbeddedMigrations.swift`), applied in order, each once, each in its own transaction.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in EmbeddedMigrations.all {
            // Foreign keys stay on, checked as each row changes. GRDB's default turns them off and ends every
            // migration with a foreign_key_check of the whole catalogue: a random read for each row of each child
            // table (on a 9.8 M catalogue the daemon was still in it after 4.5 minutes). Only a migration that
            // rebuilds a parent table needs them off; none of ours does.
            migrator.registerMigration(migration.name, foreignKeyChecks: .immediate) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }
}
