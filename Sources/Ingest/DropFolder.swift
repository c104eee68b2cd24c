#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one entry of a member's drop folder is, by SPEC §4's rules. Nothing here follows a link or opens a file.
public struct DropEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A regular file with one link: a candidate once it has settled.
        case candidate(size: Int64, modified: Int64)
        /// A name that is still being written (`.name`, `*.part`, `*.tmp`, `*.filepart`): left alone until renamed.
        case waiting
        /// Never taken or followed: moved out and reported.
        case refused(reason: String)
    }

    /// The member the folder belongs to: from the folder, never from the file's content.
    public var member: String
    public var name: String
    public var path: String
    public var kind: Kind
}

/// Reads `<drop_dir>/<MEMBER>/` folders.
public enum DropFolder {
    /// The folder calisd writes reports into, inside each member's folder.
    public static let reportsFolder = "reports"

    /// `[A-Za-z0-9_-]{1,32}`.
    public static func isMemberCode(_ code: String) -> Bool {
        let bytes = Array(code.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// Names a member is still writing.
    public static func isInProgress(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".part") || name.hasSuffix(".tmp") || name.hasSuffix(".filepart")
    }

    /// Classifies every entry of one member's folder (its `reports/` excepted).
    /// - Throws: ``IngestError`` when the folder cannot be listed.
    public static func scan(memberFolder path: String, member: String) throws(IngestError) -> [DropEntry] {
        var entries: [DropEntry] = []
        for name in try list(path) where name != reportsFolder {
            entries.append(classify(name: name, in: path, member: member))
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// The member folders under `dropDirectory`, and entries refused because the folder name is no member code
    /// or the entry is not a folder.
    public static func memberFolders(in dropDirectory: String) throws(IngestError) -> (members: [String], refused: [DropEntry]) {
        var members: [String] = []
        var refused: [DropEntry] = []
        for name in try list(dropDirectory) {
            let path = dropDirectory + "/" + name
            var status = stat()
            guard lstat(path, &status) == 0 else { continue }
            if status.st_mode & S_IFMT == S_IFDIR && isMemberCode(name) {
                members.append(name)
            } else {
                refused.append(
                    DropEntry(
                        member: "", name: name, path: path,
                        kind: .refused(reason: "not a member folder: member codes are 1-32 letters, digits, '_' or '-'")))
            }
        }
        return (members.sorted(), refused)
    }

    static func classify(name: String, in folder: String, member: String) -> DropEntry {
        let path = folder + "/" + name
        func entry(_ kind: DropEntry.Kind) -> DropEntry { DropEntry(member: member, name: name, path: path, kind: kind) }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }) {
            return entry(.refused(reason: "the name holds a control character or a separator"))
        }
        var status = stat()
        guard lstat(path, &status) == 0 else {
            return entry(.refused(reason: "cannot be examined: \(String(cString: strerror(errno)))"))
        }
        switch status.st_mode & S_IFMT {
        case S_IFLNK: return entry(.refused(reason: "a symbolic link (never followed)"))
        case S_IFDIR: return entry(.refused(reason: "a folder (members submit files)"))
        case S_IFREG: break
        default: return entry(.refused(reason: "not a regular file (a device, pipe or socket)"))
        }
        if isInProgress(name) { return entry(.waiting) }
        if status.st_nlink > 1 { return entry(.refused(reason: "a hard link (the file has \(status.st_nlink) names)")) }
        return entry(.candidate(size: Int64(status.st_size), modified: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)))
    }

    private static func list(_ path: String) throws(IngestError) -> [String] {
        guard let directory = opendir(path) else {
            throw IngestError("cannot list \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// An ingest failure said in terms an admin can act on.
public struct IngestError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
