import Foundation
import Store

#if canImport(Glibc)
import Glibc
#endif

/// `reports/<file>.report.json`: what happened to a file, for the member who sent it.
public struct FileReport: Codable, Sendable, Equatable {
    public struct Counts: Codable, Sendable, Equatable {
        public var read, added, changed, unchanged, deleted, rejected, withdrawn: Int
    }

    public struct Problem: Codable, Sendable, Equatable {
        public var record: Int
        public var localID: String?
        public var severity: String
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case record, severity, reason
            case localID = "001"
        }
    }

    public var id: Int64
    public var member: String
    public var file: String
    public var sha256: String
    public var size: Int64
    public var mode: String
    public var state: String
    public var reason: String?
    public var receivedAt: String
    public var finishedAt: String?
    public var total: Int?
    public var counts: Counts
    public var problems: [Problem]
    /// Problems beyond the first ``FileReport/maximumProblems``, counted, not listed.
    public var problemsOmitted: Int
    public var rejectedFile: String?

    static let maximumProblems = 10_000

    enum CodingKeys: String, CodingKey {
        case id, member, file, sha256, size, mode, state, reason, total, counts, problems
        case receivedAt = "received_at"
        case finishedAt = "finished_at"
        case problemsOmitted = "problems_omitted"
        case rejectedFile = "rejected_file"
    }

    public init(file: SubmittedFile, problems: [FileProblem], rejectedFile: String?) {
        id = file.id
        member = file.member
        self.file = file.name
        sha256 = file.sha256
        size = file.size
        mode = file.mode.rawValue
        state = file.state.rawValue
        reason = file.reason
        receivedAt = Self.timestamp(file.receivedAt)
        finishedAt = file.finishedAt.map(Self.timestamp)
        total = file.total
        counts = Counts(
            read: file.read, added: file.added, changed: file.changed, unchanged: file.unchanged, deleted: file.deleted,
            rejected: file.rejected, withdrawn: file.withdrawn)
        self.problems = problems.prefix(Self.maximumProblems).map {
            Problem(record: $0.recordNumber, localID: $0.localID, severity: $0.severity.rawValue, reason: $0.reason)
        }
        problemsOmitted = max(0, problems.count - Self.maximumProblems)
        self.rejectedFile = rejectedFile
    }

    static func timestamp(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

extension FileIngestor {
    /// Writes the file's report, and its rejected records as ISO 2709, into the member's `reports/` folder, then
    /// moves the file to its final state: whoever sees the state can read the report.
    func finishWithReport(fileID: Int64, state: SubmittedFile.State, reason: String? = nil, heldPath: String? = nil,
        archivePath: String? = nil) throws
    {
        guard var file = try store.file(id: fileID) else { return }
        file.state = state
        if let reason { file.reason = reason }
        if state != .held { file.finishedAt = file.finishedAt ?? CatalogStore.now() }
        try writeReport(file)
        try store.updateFile(
            id: fileID, state: state, reason: reason, spoolPath: heldPath ?? archivePath, heldPath: heldPath,
            archivePath: archivePath, finished: state != .held)
    }

    private func writeReport(_ file: SubmittedFile) throws {
        let fileID = file.id
        let problems = try store.problems(ofFile: fileID)
        let reports = settings.dropDirectory + "/" + file.member + "/" + DropFolder.reportsFolder
        try Self.ensureRealFolder(reports)
        let base = StateFolders.safeName(file.name)
        let rejected = problems.compactMap(\.rejected)
        var rejectedName: String?
        if !rejected.isEmpty {
            rejectedName = base + ".rejected.mrc"
            try Self.writeAtomically(Array(rejected.joined()), to: reports + "/" + rejectedName!)
        }
        let report = FileReport(file: file, problems: problems, rejectedFile: rejectedName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = try encoder.encode(report)
        try store.setReport(id: fileID, report: String(decoding: json, as: UTF8.self))
        try Self.writeAtomically(Array(json) + [0x0A], to: reports + "/" + base + ".report.json")
    }

    /// The member controls its folder: a `reports` that is a link or a file is moved aside, never written through.
    static func ensureRealFolder(_ path: String) throws {
        var status = stat()
        if lstat(path, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFDIR { return }
            let aside = path + ".not-a-folder." + StateFolders.uniqueName(for: "reports")
            guard rename(path, aside) == 0 else {
                throw IngestError("\(path) is not a folder and cannot be moved aside: \(String(cString: strerror(errno)))")
            }
        }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw IngestError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes beside the target under a dot name (ignored by scans) and renames, never following a link.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = folder + "/." + (path as NSString).lastPathComponent + ".writing"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IngestError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary)
                throw IngestError("cannot write \(temporary): \(reason)")
            }
            written += result
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw IngestError("cannot write \(path): \(reason)")
        }
    }
}
