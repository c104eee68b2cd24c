import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The folders under `state_dir` a file passes through: `spool/<MEMBER>/` from its claim, then
/// `archive/<MEMBER>/<date>/`, `held/<MEMBER>/` (a full snapshot over the guard) or `refused/<MEMBER>/`.
public struct StateFolders: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func spool(_ member: String) -> String { root + "/spool/" + member }
    public func held(_ member: String) -> String { root + "/held/" + member }
    public func refused(_ member: String) -> String { root + "/refused/" + member }
    public var uploads: String { root + "/uploads" }

    public func archive(_ member: String, at time: Date = Date()) -> String {
        root + "/archive/" + member + "/" + Self.day(time)
    }

    /// `YYYY-MM-DD` in UTC.
    static func day(_ time: Date) -> String {
        var seconds = time_t(time.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
    }

    /// Creates a folder and its parents, owner and group only.
    public static func ensure(_ path: String) throws(IngestError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw IngestError("cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// A name inside a state folder that cannot collide: a unique stamp, then the member's name made safe
    /// (control characters and separators replaced).
    public static func uniqueName(for name: String) -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return "\(time.tv_sec)\(String(format: "%09d", time.tv_nsec))-\(safeName(name))"
    }

    /// The member's file name with control characters, `/` and `\` replaced by `_`, for names calisd writes.
    public static func safeName(_ name: String) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F || $0 == "/" || $0 == "\\" ? "_" : $0 }))
        return cleaned.isEmpty || cleaned == "." || cleaned == ".." ? "_" : cleaned
    }

    /// Whether two paths are on one filesystem, so a claim between them is one atomic rename.
    public static func sameFilesystem(_ first: String, _ second: String) -> Bool {
        var a = stat()
        var b = stat()
        guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
        return a.st_dev == b.st_dev
    }
}
