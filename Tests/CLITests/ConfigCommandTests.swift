import CalisdTesting
import Foundation
import Testing

/// `calisd check-config` and `calisd migrate` as real processes, with good and broken configurations.
@Suite("calisd check-config and migrate")
struct ConfigCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ arguments: String...) throws -> ProcessRunner.Output {
        try ProcessRunner.run(MarcCommandTests.binary, arguments)
    }

    /// A catalogue that `migrate` created in `directory`: the configuration's path and the database's.
    static func migratedCatalogue(in directory: URL) throws -> (config: String, database: String) {
        let path = try write("state_dir = \"state\"\n", in: directory)
        #expect(try run("migrate", "--config", path).status == 0)
        return (path, directory.appendingPathComponent("state/catalogue.sqlite").path)
    }

    static func write(_ text: String, in directory: URL, name: String = "calisd.toml") throws -> String {
        let file = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    @Test("the shipped configurations are valid; relative paths resolve against the file's folder")
    func shippedConfigurations() throws {
        let production = try Self.run("check-config", "--config", Self.root.appendingPathComponent("etc/calisd.toml").path)
        #expect(production.status == 0)
        #expect(production.stdoutText.contains("state_dir: /var/lib/calisd\n"))
        #expect(production.stdoutText.contains("socket:    /run/calisd/calisd.sock\n"))
        let development = try Self.run("check-config", "--config", Self.root.appendingPathComponent("etc/calisd.dev.toml").path)
        #expect(development.status == 0)
        #expect(development.stdoutText.contains("state_dir: \(Self.root.appendingPathComponent("var/state").path)\n"))
    }

    @Test("an empty file is complete: every key has a default")
    func emptyIsComplete() throws {
        let directory = try MarcCommandTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.run("check-config", "--config", try Self.write("", in: directory))
        #expect(result.status == 0)
        #expect(result.stdoutText.contains("drop_dir:  /srv/calisd/drop\n"))
    }

    @Test("a broken configuration names the file, the line and the key, and exits 78", arguments: [
        ("state_dir = \"/x\"\n\n[ingest]\nsettle = 3\n", ":4: ingest.settle: unknown key"),
        ("[ingest]\nsettle_seconds = -1\n", ":2: ingest.settle_seconds: must be a whole number from 0 to 3600"),
        ("[ingest]\nbatch_size = \"many\"\n", ":2: ingest.batch_size: must be a whole number"),
        ("[ingest]\nwithdrawal_guard_percent = 150\n", ":2: ingest.withdrawal_guard_percent: must be a number from 0 to 100"),
        ("ingest = 3\n", ":1: ingest: must be a section"),
        ("[api]\nadmin_group = \"\"\n", ":2: api.admin_group: must be a group name"),
        ("[api]\nlisten = 1\n", ":2: api.listen: unknown key"),
        ("[holdings]\nstale_after_days = 0\n", ":2: holdings.stale_after_days: must be a whole number from 1 to 36500"),
        ("[holdings]\nstale_after = \"7d\"\n", ":2: holdings.stale_after: unknown key; [holdings] knows stale_after_days"),
        ("[refresh]\nmax_concurrent_harvests = 0\n", ":2: refresh.max_concurrent_harvests: must be a whole number from 1 to 64"),
        ("[refresh]\njitter_percent = 90\n", ":2: refresh.jitter_percent: must be a whole number from 0 to 50"),
        ("[refresh]\n\nretry = 5\n", ":3: refresh.retry: unknown key; [refresh] knows max_concurrent_harvests"),
        ("[api]\nlisten_tcp = \"0.0.0.0:8081\"\n", ":2: api.listen_tcp: must be a loopback address and port"),
        ("[api]\nlisten_tcp = \"127.0.0.1\"\n", ":2: api.listen_tcp: must be a loopback address and port"),
        ("[api]\nlisten_tcp = \"127.0.0.1:70000\"\n", ":2: api.listen_tcp: must be a loopback address and port"),
        ("[api]\npublic_url = \"union.example.edu\"\n", ":2: api.public_url: must be an http:// or https:// URL"),
        ("[api]\npublic_url = \"https://union.example.edu/?x=1\"\n", ":2: api.public_url: must be an http:// or https:// URL"),
        ("[api]\nidle_timeout_seconds = 0\n", ":2: api.idle_timeout_seconds: must be a whole number from 1 to 86400"),
        ("[api]\nanswer_cache_mb = -1\n", ":2: api.answer_cache_mb: must be a whole number from 0 to 16384"),
        ("[api]\nanswer_cache_mb = \"64M\"\n", ":2: api.answer_cache_mb: must be a whole number from 0 to 16384"),
        ("[oai]\nadmin_email = \"nobody\"\n", ":2: oai.admin_email: must be an e-mail address"),
        ("[oai]\nrepository_identifier = \"my repo\"\n", ":2: oai.repository_identifier: must be a domain-like name"),
        ("[oai]\nrepository_name = \"\"\n", ":2: oai.repository_name: must be text of 1-200 characters on one line"),
        ("[oai]\nrecords_per_response = 0\n", ":2: oai.records_per_response: must be a whole number from 1 to 10000"),
        ("[oai]\nbase_url = \"x\"\n", ":2: oai.base_url: unknown key; [oai] knows repository_name"),
        ("[retention]\narchive_days = -1\n", ":2: retention.archive_days: must be a whole number from 0 to 36500"),
        ("[retention]\nkeep = 3\n", ":2: retention.keep: unknown key; [retention] knows archive_days"),
        ("# comment\nstat_dir = \"/x\"\n", ":2: stat_dir: unknown key"),
        ("state_dir = 5\n", ":1: state_dir: must be a string"),
        ("drop_dir = \"\"\n", ":1: drop_dir: must be a non-empty path"),
        ("socket = \"/\(String(repeating: "s", count: 120))\"\n", ":1: socket: the socket path is longer than the 107 bytes"),
        ("state_dir = \"/x\n", ":1: not valid TOML"),
        ("state_dir = \"/x\"\nstate_dir = \"/y\"\n", ":2: not valid TOML"),
    ])
    func brokenConfiguration(text: String, expected: String) throws {
        let directory = try MarcCommandTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.write(text, in: directory)
        let result = try Self.run("check-config", "--config", path)
        #expect(result.status == 78)
        #expect(result.stderrText.contains("\(path)\(expected)"), "\(result.stderrText)")
        // migrate refuses the same file the same way, and touches nothing.
        let migrate = try Self.run("migrate", "--config", path)
        #expect(migrate.status == 78)
    }

    @Test("a missing configuration file is a clear error")
    func missingFile() throws {
        let result = try Self.run("check-config", "--config", "/nonexistent/calisd.toml")
        #expect(result.status == 78)
        #expect(result.stderrText.contains("/nonexistent/calisd.toml: cannot read the file"))
    }

    @Test("migrate creates the state folder and the catalogue, applies the schema once, and again applies nothing")
    func migrate() throws {
        let directory = try MarcCommandTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.write("state_dir = \"state\"\n", in: directory)
        let first = try Self.run("migrate", "--config", path)
        #expect(first.status == 0, "\(first.stderrText)")
        let database = directory.appendingPathComponent("state/catalogue.sqlite").path
        // Every file of migrations/, in order, and nothing else.
        let migrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("migrations")
        let names = try FileManager.default.contentsOfDirectory(atPath: migrations.path).filter { $0.hasSuffix(".sql") }.sorted()
            .map { String($0.dropLast(4)) }
        #expect(names.count >= 4)
        #expect(first.stdoutText == "\(database): \(names.count) migration(s) applied: \(names.joined(separator: ", "))\n")
        #expect(FileManager.default.fileExists(atPath: database))
        let second = try Self.run("migrate", "--config", path)
        #expect(second.stdoutText == first.stdoutText)
        // The schema really is there, seen by an independent client.
        if ProcessRunner.find("sqlite3") != nil {
            let tables = try ProcessRunner.run("sqlite3", [database, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('members', 'files', 'source_records', 'union_records', 'changes')"])
            #expect(tables.stdoutText == "5\n")
        }
    }

    @Test(
        "migrate gives block keys from before migration 0019 their records' conflict sketches, once; a record without keys leaves none",
        .enabled(if: ProcessRunner.find("sqlite3") != nil, "needs sqlite3"))
    func migrateFillsConflictSketches() throws {
        let directory = try MarcCommandTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, database) = try Self.migratedCatalogue(in: directory)
        // As an older catalogue is after the migration: rows without sketches, the fill still to do.
        let keys = "'material' || char(31) || 'am' || char(30) || 'isbn' || char(31) || '9780306406157' || char(30) || 'year' || char(31) || '1999'"
        let setUp = try ProcessRunner.run("sqlite3", [database, """
            INSERT INTO members (code, name, created_at) VALUES ('A', 'A', 0);
            INSERT INTO source_records (id, member, local_id, flavour, original_encoding, record, content_hash, updated_at, features)
            VALUES (1, 'A', '1', 'marc21', 'utf-8', x'00', x'00', 0, \(keys)), (2, 'A', '2', 'marc21', 'utf-8', x'00', x'00', 0, NULL);
            INSERT INTO block_keys (hash, source_id, union_id) VALUES (11, 1, 1), (12, 1, 1), (21, 2, 2);
            INSERT INTO conflict_sketch_fill (pending) VALUES (1);
            """])
        #expect(setUp.status == 0, "\(setUp.stderrText)")
        let first = try Self.run("migrate", "--config", path)
        #expect(first.status == 0 && first.stdoutText.hasSuffix("\(database): conflict sketches filled for 2 block keys\n"), "\(first.stdoutText)")
        let sketches = try ProcessRunner.run("sqlite3", [database, "SELECT source_id, conflict_sketch IS NOT NULL FROM block_keys ORDER BY hash"])
        #expect(sketches.stdoutText == "1|1\n1|1\n2|0\n")
        let second = try Self.run("migrate", "--config", path)
        #expect(second.status == 0 && !second.stdoutText.contains("conflict sketches"), "\(second.stdoutText)")
    }

    @Test(
        "migrate indexes the records the search index does not hold (all of them after migration 0020), once",
        .enabled(if: ProcessRunner.find("sqlite3") != nil, "needs sqlite3"))
    func migrateBuildsTheSearchIndex() throws {
        let directory = try MarcCommandTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (path, database) = try Self.migratedCatalogue(in: directory)
        // A real LoC record, as a catalogue holds it before its index is built again.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: MarcCommandTests.fixture("loc-books-50.mrc"))))
        let length = Int(String(decoding: bytes.prefix(5), as: UTF8.self)) ?? 0
        #expect(length > 24)
        let hex = bytes.prefix(length).map { String(format: "%02x", $0) }.joined()
        let setUp = try ProcessRunner.run("sqlite3", [database, """
            INSERT INTO members (code, name, created_at) VALUES ('A', 'A', 0);
            INSERT INTO source_records (id, member, local_id, flavour, original_encoding, record, content_hash, updated_at)
            VALUES (1, 'A', '1', 'marc21', 'utf-8', x'\(hex)', x'00', 0);
            """])
        #expect(setUp.status == 0, "\(setUp.stderrText)")
        let first = try Self.run("migrate", "--config", path)
        #expect(first.status == 0 && first.stdoutText.contains("\(database): search index built for 1 records\n"), "\(first.stdoutText)")
        let row = try ProcessRunner.run("sqlite3", [database, "SELECT rowid, title <> '' FROM record_search"])
        #expect(row.stdoutText == "1|1\n")
        let second = try Self.run("migrate", "--config", path)
        #expect(second.status == 0 && !second.stdoutText.contains("search index"), "\(second.stdoutText)")
    }

    @Test("migrate on a file that is not a catalogue, or a state folder it cannot create, exits 74")
    func migrateFailures() throws {
        let directory = try MarcCommandTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("state"), withIntermediateDirectories: true)
        try Data("not sqlite at all, not even close".utf8).write(to: directory.appendingPathComponent("state/catalogue.sqlite"))
        let corrupt = try Self.run("migrate", "--config", try Self.write("state_dir = \"state\"\n", in: directory))
        #expect(corrupt.status == 74)
        #expect(corrupt.stderrText.contains("cannot migrate"))
        // A state folder under a regular file cannot be created.
        let blocked = try Self.run("migrate", "--config", try Self.write("state_dir = \"state/catalogue.sqlite/inner\"\n", in: directory, name: "b.toml"))
        #expect(blocked.status == 74)
    }
}
