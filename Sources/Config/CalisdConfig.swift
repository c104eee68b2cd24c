import Foundation
import TOMLKit

/// calisd's configuration, from TOML. Every key has a default; a relative path resolves against the folder
/// of the config file; an unknown key or a bad value is an error that names the key, the file and the line.
public struct CalisdConfig: Sendable, Equatable {
    /// Where the catalogue, the spool and the archive live.
    public var stateDirectory: String
    /// The members' drop folders, `<drop_dir>/<MEMBER>/`.
    public var dropDirectory: String
    /// The Unix socket the API listens on.
    public var socketPath: String
    /// `[ingest] settle_seconds`: how long a file closed after writing must stay unchanged before it is taken.
    public var settleSeconds = 2
    /// `[ingest] withdrawal_guard_percent`: a full snapshot withdrawing more than this share of a member's
    /// records is held for an admin.
    public var withdrawalGuardPercent = 10.0
    /// `[ingest] batch_size`: records per transaction, the unit a restart resumes from.
    public var batchSize = 10_000
    /// `[holdings] stale_after_days`: a holding its member has not confirmed (sent again) for this long is shown
    /// as stale; it is never deleted for it.
    public var staleAfterDays = 180
    /// `[refresh] max_concurrent_harvests`: OAI-PMH harvests running at once.
    public var maxConcurrentHarvests = 4
    /// `[refresh] retry_after_seconds`: the first wait after a failed request or harvest; doubled after each further one.
    public var harvestRetrySeconds = 60
    /// `[refresh] request_timeout_seconds`: how long one OAI-PMH request may take.
    public var harvestTimeoutSeconds = 120
    /// `[refresh] jitter_percent`: a harvest's next due time is pushed back by a random share of its interval up to this.
    public var harvestJitterPercent = 10
    /// `[retention] archive_days`: archived submitted files finished longer ago are removed (0: kept for ever).
    public var archiveDays = 365
    /// `[retention] archive_max_mb`: the oldest archived files are removed while the archive is larger, in MiB (0: no limit).
    public var archiveMaxMegabytes = 0
    /// `[retention] changes_days`: change-log entries older than this are removed (0: kept for ever).
    public var changesDays = 365
    /// `[api] max_upload_mb`: the largest file accepted over the socket.
    public var maxUploadMegabytes = 2_048
    /// `[api] listen_tcp`: an optional loopback TCP listener for a reverse proxy; peers there are never admin.
    public var listenTCP: ListenAddress?
    /// `[api] admin_group`: peers in this group (or root) may use admin routes; not the socket's own group.
    public var adminGroup = "calisd-admin"

    /// `[api] idle_timeout_seconds`: a connection silent this long between requests, or stalled half-way through
    /// sending one, is closed; one waiting for its answer never is.
    public var idleTimeoutSeconds = 60
    /// `[api] answer_cache_mb`: memory for record answers kept while the catalogue is unchanged (0: none kept).
    public var answerCacheMegabytes = 64
    /// `[api] public_url`: where members reach the API through the reverse proxy; the OAI-PMH base URL and the
    /// SRU explain record are given from it.
    public var publicURL = "http://localhost"
    /// `[oai] repository_name`: the name OAI-PMH `Identify` gives.
    public var repositoryName = "calisd union catalogue"
    /// `[oai] admin_email`: who harvesters write to about the repository.
    public var adminEmail = "root@localhost"
    /// `[oai] repository_identifier`: the namespace of OAI identifiers, `oai:<this>:CAL…`.
    public var repositoryIdentifier = "calisd"
    /// `[oai] records_per_response`: records in one ListRecords answer (ListIdentifiers gives five times as many).
    public var oaiRecordsPerResponse = 200

    public static let defaultPath = "/etc/calisd/calisd.toml"

    public init(
        stateDirectory: String = "/var/lib/calisd", dropDirectory: String = "/srv/calisd/drop",
        socketPath: String = "/run/calisd/calisd.sock"
    ) {
        self.stateDirectory = stateDirectory
        self.dropDirectory = dropDirectory
        self.socketPath = socketPath
    }

    /// The SQLite union catalogue inside the state folder.
    public var databasePath: String { stateDirectory + "/catalogue.sqlite" }

    /// Reads and checks `path`.
    /// - Throws: ``ConfigError`` naming the file, and the key and line where there is one.
    public static func load(path: String) throws(ConfigError) -> CalisdConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(ConfigError) -> CalisdConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: path, line: error.source.begin.line, key: nil, message: "not valid TOML: \(error.description)")
        } catch {
            throw ConfigError(file: path, line: nil, key: nil, message: "not valid TOML: \(error)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var config = CalisdConfig()
        for key in table.keys {
            let line = Self.line(of: key, in: text)
            func pathValue() throws(ConfigError) -> String {
                guard let value = table[key]?.string else {
                    throw ConfigError(file: path, line: line, key: key, message: "must be a string (a path)")
                }
                guard !value.isEmpty, !value.contains("\0") else {
                    throw ConfigError(file: path, line: line, key: key, message: "must be a non-empty path")
                }
                return value.hasPrefix("/") ? value : folder.appendingPathComponent(value).standardizedFileURL.path
            }
            switch key {
            case "state_dir": config.stateDirectory = try pathValue()
            case "drop_dir": config.dropDirectory = try pathValue()
            case "socket":
                config.socketPath = try pathValue()
                // sockaddr_un holds 108 bytes, the terminator included.
                if config.socketPath.utf8.count > 107 {
                    throw ConfigError(file: path, line: line, key: key, message: "the socket path is longer than the 107 bytes a Unix socket allows")
                }
            case "ingest": try config.parseIngest(section(table, key, path: path, line: line), text: text, path: path)
            case "api": try config.parseAPI(section(table, key, path: path, line: line), text: text, path: path)
            case "holdings": try config.parseHoldings(section(table, key, path: path, line: line), text: text, path: path)
            case "refresh": try config.parseRefresh(section(table, key, path: path, line: line), text: text, path: path)
            case "retention": try config.parseRetention(section(table, key, path: path, line: line), text: text, path: path)
            case "oai": try config.parseOAI(section(table, key, path: path, line: line), text: text, path: path)
            default:
                throw ConfigError(
                    file: path, line: line, key: key,
                    message:
                        "unknown key; calisd knows state_dir, drop_dir, socket and the sections [ingest], [holdings], [refresh], [retention], [api] and [oai]")
            }
        }
        return config
    }

    private static func section(_ table: TOMLTable, _ key: String, path: String, line: Int?) throws(ConfigError) -> TOMLTable {
        guard let section = table[key]?.table else {
            throw ConfigError(file: path, line: line, key: key, message: "must be a section ([\(key)])")
        }
        return section
    }

    private mutating func parseIngest(_ table: TOMLTable, text: String, path: String) throws(ConfigError) {
        for key in table.keys {
            let name = "ingest.\(key)"
            let line = Self.line(of: key, in: text)
            switch key {
            case "settle_seconds": settleSeconds = try Self.integer(table, key, in: 0...3_600, name: name, path: path, line: line)
            case "batch_size": batchSize = try Self.integer(table, key, in: 1...100_000, name: name, path: path, line: line)
            case "withdrawal_guard_percent":
                guard let value = table[key]?.double ?? table[key]?.int.map(Double.init), (0...100).contains(value) else {
                    throw ConfigError(file: path, line: line, key: name, message: "must be a number from 0 to 100")
                }
                withdrawalGuardPercent = value
            default:
                throw ConfigError(
                    file: path, line: line, key: name,
                    message: "unknown key; [ingest] knows settle_seconds, batch_size and withdrawal_guard_percent")
            }
        }
    }

    private mutating func parseHoldings(_ table: TOMLTable, text: String, path: String) throws(ConfigError) {
        for key in table.keys {
            let name = "holdings.\(key)"
            let line = Self.line(of: key, in: text)
            switch key {
            case "stale_after_days": staleAfterDays = try Self.integer(table, key, in: 1...36_500, name: name, path: path, line: line)
            default:
                throw ConfigError(file: path, line: line, key: name, message: "unknown key; [holdings] knows stale_after_days")
            }
        }
    }

    private mutating func parseRefresh(_ table: TOMLTable, text: String, path: String) throws(ConfigError) {
        for key in table.keys {
            let name = "refresh.\(key)"
            let line = Self.line(of: key, in: text)
            switch key {
            case "max_concurrent_harvests": maxConcurrentHarvests = try Self.integer(table, key, in: 1...64, name: name, path: path, line: line)
            case "retry_after_seconds": harvestRetrySeconds = try Self.integer(table, key, in: 1...86_400, name: name, path: path, line: line)
            case "request_timeout_seconds": harvestTimeoutSeconds = try Self.integer(table, key, in: 1...3_600, name: name, path: path, line: line)
            case "jitter_percent": harvestJitterPercent = try Self.integer(table, key, in: 0...50, name: name, path: path, line: line)
            default:
                throw ConfigError(
                    file: path, line: line, key: name,
                    message: "unknown key; [refresh] knows max_concurrent_harvests, retry_after_seconds, request_timeout_seconds and jitter_percent")
            }
        }
    }

    private mutating func parseRetention(_ table: TOMLTable, text: String, path: String) throws(ConfigError) {
        for key in table.keys {
            let name = "retention.\(key)"
            let line = Self.line(of: key, in: text)
            switch key {
            case "archive_days": archiveDays = try Self.integer(table, key, in: 0...36_500, name: name, path: path, line: line)
            case "archive_max_mb": archiveMaxMegabytes = try Self.integer(table, key, in: 0...1_000_000_000, name: name, path: path, line: line)
            case "changes_days": changesDays = try Self.integer(table, key, in: 0...36_500, name: name, path: path, line: line)
            default:
                throw ConfigError(
                    file: path, line: line, key: name, message: "unknown key; [retention] knows archive_days, archive_max_mb and changes_days")
            }
        }
    }

    private mutating func parseAPI(_ table: TOMLTable, text: String, path: String) throws(ConfigError) {
        for key in table.keys {
            let name = "api.\(key)"
            let line = Self.line(of: key, in: text)
            switch key {
            case "max_upload_mb": maxUploadMegabytes = try Self.integer(table, key, in: 1...1_048_576, name: name, path: path, line: line)
            case "admin_group":
                guard let value = table[key]?.string, !value.isEmpty, !value.contains(where: { $0 == ":" || $0 == "\n" || $0 == "\0" })
                else {
                    throw ConfigError(file: path, line: line, key: name, message: "must be a group name")
                }
                adminGroup = value
            case "idle_timeout_seconds":
                idleTimeoutSeconds = try Self.integer(table, key, in: 1...86_400, name: name, path: path, line: line)
            case "answer_cache_mb":
                answerCacheMegabytes = try Self.integer(table, key, in: 0...16_384, name: name, path: path, line: line)
            case "public_url":
                guard let value = table[key]?.string, let url = URL(string: value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                    url.host?.isEmpty == false, url.query == nil, url.fragment == nil
                else {
                    throw ConfigError(
                        file: path, line: line, key: name, message: "must be an http:// or https:// URL without a query, such as \"https://union.example.edu\"")
                }
                publicURL = value.hasSuffix("/") ? String(value.dropLast()) : value
            case "listen_tcp":
                guard let value = table[key]?.string, let address = Self.loopbackAddress(value) else {
                    throw ConfigError(
                        file: path, line: line, key: name,
                        message: "must be a loopback address and port, such as \"127.0.0.1:8081\" or \"[::1]:8081\": it serves a local reverse proxy, never the network")
                }
                listenTCP = address
            default:
                throw ConfigError(
                    file: path, line: line, key: name, message: "unknown key; [api] knows max_upload_mb, admin_group, listen_tcp, public_url, idle_timeout_seconds and answer_cache_mb")
            }
        }
    }

    private mutating func parseOAI(_ table: TOMLTable, text: String, path: String) throws(ConfigError) {
        for key in table.keys {
            let name = "oai.\(key)"
            let line = Self.line(of: key, in: text)
            if key == "records_per_response" {
                oaiRecordsPerResponse = try Self.integer(table, key, in: 1...10_000, name: name, path: path, line: line)
                continue
            }
            guard let value = table[key]?.string, !value.isEmpty, value.count <= 200, !value.unicodeScalars.contains(where: { $0.value < 0x20 })
            else {
                throw ConfigError(file: path, line: line, key: name, message: "must be text of 1-200 characters on one line")
            }
            switch key {
            case "repository_name": repositoryName = value
            case "admin_email":
                guard value.contains("@"), !value.contains(where: \.isWhitespace) else {
                    throw ConfigError(file: path, line: line, key: name, message: "must be an e-mail address")
                }
                adminEmail = value
            case "repository_identifier":
                // OAI-PMH's oai-identifier scheme: a domain-like name.
                let allowed = value.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-") }
                guard allowed, value.first?.isLetter == true else {
                    throw ConfigError(file: path, line: line, key: name, message: "must be a domain-like name of letters, digits, '.' and '-', such as \"union.example.edu\"")
                }
                repositoryIdentifier = value
            default:
                throw ConfigError(
                    file: path, line: line, key: name, message: "unknown key; [oai] knows repository_name, admin_email, repository_identifier and records_per_response")
            }
        }
    }

    /// `127.x.x.x:PORT`, `[::1]:PORT` or `localhost:PORT`, as a host and port; nil for anything else.
    static func loopbackAddress(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        let loopback = host == "::1" || host == "localhost" || (octets.count == 4 && octets[0] == 127)
        return loopback ? ListenAddress(host: host == "localhost" ? "127.0.0.1" : host, port: port) : nil
    }

    private static func integer(
        _ table: TOMLTable, _ key: String, in range: ClosedRange<Int>, name: String, path: String, line: Int?
    ) throws(ConfigError) -> Int {
        guard let value = table[key]?.int, range.contains(value) else {
            throw ConfigError(
                file: path, line: line, key: name, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The line where `key` is first assigned, for messages: TOMLKit does not keep positions of values.
    static func line(of key: String, in text: String) -> Int? {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix(key) {
                let rest = trimmed.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
                if rest.hasPrefix("=") { return number + 1 }
            }
            // A table header names its key too: `[key]`.
            if trimmed.hasPrefix("[\(key)]") || trimmed.hasPrefix("[[\(key)]]") { return number + 1 }
        }
        return nil
    }
}

/// A configuration that cannot be used, said the way an admin fixes it: `FILE:LINE: key: message`.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.map { "\(place): \($0): \(message)" } ?? "\(place): \(message)"
    }
}

/// A host and port to listen on.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
}
