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
            default:
                throw ConfigError(file: path, line: line, key: key, message: "unknown key; calisd knows state_dir, drop_dir and socket")
            }
        }
        return config
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
