import Foundation
import Ingest
import Store

/// What one harvest writes into the ingest pipeline: MARCXML files of harvested records and `.delete.txt` files of
/// deleted ones, each handed to ingest when it holds `recordsPerFile` (or when the harvest ends), so a long first
/// harvest is ingested while it goes on and a failure keeps what came before it. Files are written in the state
/// folder's `harvest/` and moved into the spool only once complete and synced.
final class HarvestBatch {
    private let store: CatalogStore
    private let ingest: IngestService
    private let folder: String
    private let member: String
    private let stamp: String
    private let recordsPerFile: Int

    private var handle: FileHandle?
    private var path: String?
    private var recordCount = 0
    private var identifiers: [(identifier: String, localID: String, datestamp: String)] = []
    private var deletions: [String] = []
    private var sequence = 0

    private(set) var files: [Int64] = []
    /// Records in files handed to ingest.
    private(set) var flushedRecords = 0
    private(set) var unknownDeletions = 0
    private(set) var deletedCount = 0

    init(store: CatalogStore, ingest: IngestService, stateDirectory: String, member: String, startedAt: Date, recordsPerFile: Int) {
        self.store = store
        self.ingest = ingest
        self.folder = stateDirectory + "/harvest"
        self.member = member
        self.recordsPerFile = recordsPerFile
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        self.stamp = format.string(from: startedAt)
    }

    func add(_ record: OAIResponse.Record) throws {
        if record.deleted {
            deletions.append(record.identifier)
        } else if let xml = record.marcXML, let localID = record.localID {
            try open()
            try handle!.write(contentsOf: xml + Array("\n".utf8))
            recordCount += 1
            identifiers.append((record.identifier, localID, record.datestamp))
        }
        if recordCount + deletions.count >= recordsPerFile { try flush() }
    }

    /// Hands what has been written to ingest.
    func flush() throws {
        if let handle, let path {
            try handle.write(contentsOf: Array("</collection>\n".utf8))
            try handle.synchronize()
            try handle.close()
            self.handle = nil
            self.path = nil
            // The identifiers first: a deletion in a later file must find them.
            try store.recordOAIIdentifiers(member: member, identifiers)
            files.append(try ingest.submit(received: path, member: member, name: "oai-\(stamp)-\(sequence).xml"))
            identifiers.removeAll()
            flushedRecords += recordCount
            recordCount = 0
        }
        if !deletions.isEmpty {
            let known = try store.localIDs(member: member, oaiIdentifiers: deletions)
            let localIDs = deletions.compactMap { known[$0] }
            unknownDeletions += deletions.count - localIDs.count
            deletedCount += localIDs.count
            deletions.removeAll()
            guard !localIDs.isEmpty else { return }
            sequence += 1
            let path = folder + "/" + StateFolders.uniqueName(for: "\(member)-oai-\(stamp)-\(sequence).delete.txt")
            guard FileManager.default.createFile(atPath: path, contents: Data((localIDs.joined(separator: "\n") + "\n").utf8)) else {
                throw HarvestError.storage("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            files.append(try ingest.submit(received: path, member: member, name: "oai-\(stamp)-\(sequence).delete.txt"))
        }
    }

    /// A harvest that stops half-way (failure, shutdown) or starts its list again leaves no half-written file
    /// behind; what was handed to ingest stays there.
    func discard() {
        try? handle?.close()
        if let path { try? FileManager.default.removeItem(atPath: path) }
        handle = nil
        path = nil
        identifiers.removeAll()
        deletions.removeAll()
        recordCount = 0
    }

    private func open() throws {
        guard handle == nil else { return }
        try StateFolders.ensure(folder)
        sequence += 1
        let path = folder + "/" + StateFolders.uniqueName(for: "\(member)-oai-\(stamp)-\(sequence).xml")
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw HarvestError.storage("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        try handle.write(contentsOf: Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"\(OAIResponse.marcNamespace)\">\n".utf8))
        self.handle = handle
        self.path = path
    }
}
