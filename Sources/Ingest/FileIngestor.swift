import Crypto
import Foundation
import Holdings
import Logging
import MARC
import Store
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One submitted file's way through the pipeline: claimed into the spool, registered, read in a streaming way,
/// committed in batches with its progress, reported to the member, archived. Drop folder, upload and
/// `calisd ctl ingest` all come here.
public final class FileIngestor: Sendable {
    public enum Outcome: Sendable, Equatable {
        case finished(SubmittedFile.State)
        /// Stopped between batches (shutdown): the file stays active and resumes at the next start.
        case interrupted
    }

    let store: CatalogStore
    let settings: IngestSettings
    let folders: StateFolders
    public let matcher: any UnionMatcher
    let keys: @Sendable (MARCRecord) -> [MatchKey]
    let status: IngestStatus
    let live: LiveSettings
    let logger: Logger
    let lane: CommitLane

    public init(
        store: CatalogStore, settings: IngestSettings, matcher: any UnionMatcher,
        keys: @escaping @Sendable (MARCRecord) -> [MatchKey], status: IngestStatus, live: LiveSettings, logger: Logger
    ) {
        self.store = store
        self.settings = settings
        self.folders = StateFolders(root: settings.stateDirectory)
        self.matcher = matcher
        self.keys = keys
        self.status = status
        self.live = live
        self.logger = logger
        lane = CommitLane(groupRecords: settings.batchSize) { batches in
            _ = try store.commitBatches(batches, matcher: matcher)
        }
    }

    /// The mode a file's name asks for (SPEC §4).
    public static func mode(ofName name: String) -> SubmittedFile.Mode {
        if name.hasSuffix(".delete.txt") { return .deleteList }
        return name.contains(".full.") ? .full : .incremental
    }

    /// Takes a settled file out of a member's folder into the spool and registers it.
    /// - Returns: the file's id.
    public func claim(_ entry: DropEntry) throws -> Int64 {
        let spool = folders.spool(entry.member)
        try StateFolders.ensure(spool)
        let target = spool + "/" + StateFolders.uniqueName(for: entry.name)
        try Claim.move(entry.path, to: target)
        return try register(spooled: target, member: entry.member, name: entry.name)
    }

    /// Registers a file already in the spool (claimed, uploaded, or found there after a crash).
    public func register(spooled path: String, member: String, name: String) throws -> Int64 {
        try register([(path, member, name)])[0].get()
    }

    /// Registers files already in the spool, those that can be read in one transaction: one wait for the
    /// writer, not one per file. A file that cannot be read gets its error in its place.
    func register(_ spooled: [(path: String, member: String, name: String)]) throws -> [Result<Int64, any Error>] {
        var results: [Result<Int64, any Error>] = []
        var files: [CatalogStore.NewFile] = []
        for (path, member, name) in spooled {
            do {
                let (digest, size) = try Self.sha256(path)
                files.append(.init(member: member, name: name, sha256: digest, size: size, mode: Self.mode(ofName: name).rawValue, spoolPath: path))
                results.append(.success(0))
            } catch {
                results.append(.failure(error))
            }
        }
        var ids = try store.beginFiles(files, state: .queued).makeIterator()
        var registered = files.makeIterator()
        for index in results.indices where (try? results[index].get()) != nil {
            let (id, file) = (ids.next()!, registered.next()!)
            results[index] = .success(id)
            logger.info("file taken", metadata: ["calisd.file": "\(id)", "calisd.member": "\(file.member)", "calisd.name": "\(file.name)", "calisd.mode": "\(file.mode)"])
        }
        return results
    }

    /// Moves a refused entry (a link, a folder, a device, a bad name) out of the member's folder without
    /// following it, records it and reports why.
    public func refuse(_ entry: DropEntry, reason: String) throws {
        let refused = folders.refused(entry.member)
        try StateFolders.ensure(refused)
        let target = refused + "/" + StateFolders.uniqueName(for: entry.name)
        // rename(2) moves the link or folder itself; nothing is followed or read.
        guard rename(entry.path, target) == 0 else {
            throw IngestError("cannot move refused \(entry.path) aside: \(String(cString: strerror(errno)))")
        }
        let id = try store.beginFile(
            member: entry.member, name: entry.name, sha256: "", size: 0, mode: SubmittedFile.Mode.incremental.rawValue,
            spoolPath: target, state: .active)
        logger.warning("file refused", metadata: ["calisd.file": "\(id)", "calisd.member": "\(entry.member)", "calisd.name": "\(StateFolders.safeName(entry.name))", "calisd.reason": "\(reason)"])
        try finishWithReport(fileID: id, state: .rejected, reason: reason, archivePath: target)
    }

    /// Ingests a registered file from where its progress says, until it ends or `shouldStop` says to stop
    /// between batches, and returns once it is committed.
    public func process(fileID: Int64, shouldStop: @Sendable () -> Bool = { false }) throws -> Outcome {
        let started = try begin(fileID: fileID, shouldStop: shouldStop)
        switch started {
        case .ended(let outcome):
            return outcome
        case .handedOver(let completion):
            lane.waitUntilIdle()
            return try completion.result()
        }
    }

    /// How far ``begin(fileID:shouldStop:)`` took a file.
    enum Start: Sendable {
        /// Ended on the worker (held, identical, a delete list, holdings, unreadable at its start) or stopped.
        case ended(Outcome)
        /// Read to its end, its last batches and its ending queued on the commit lane.
        case handedOver(FileCompletion)
    }

    /// Takes a file as far as the worker goes: a record file is read, keyed and handed to the commit lane batch
    /// by batch, and the worker is free for the next file while the lane commits; anything else ends here.
    func begin(fileID: Int64, shouldStop: @Sendable () -> Bool) throws -> Start {
        guard var file = try store.file(id: fileID), let path = file.spoolPath else {
            throw IngestError("file \(fileID) is not in the spool")
        }
        // A member's files are taken in order: what the lane still holds of its earlier ones goes first (the
        // identical-file check, the withdrawal guard and resumption read what they left).
        if lane.hasPending(member: file.member) { lane.waitUntilIdle() }
        status.start(.init(fileID: fileID, member: file.member, name: file.name, done: file.progress, total: file.total))
        do {
            let started = try begin(&file, path: path, shouldStop: shouldStop)
            if case .ended = started { status.finish(fileID: fileID) }
            return started
        } catch {
            // The caller fails the file: nothing of it may still be waiting to commit.
            lane.waitUntilIdle()
            status.finish(fileID: fileID)
            throw error
        }
    }

    private func begin(_ file: inout SubmittedFile, path: String, shouldStop: @Sendable () -> Bool) throws -> Start {
        let fileID = file.id
        // A record file is marked active by its first unit on the lane: a write here would wait for the lane's
        // commit in progress, and the worker would read nothing meanwhile.
        func activate(_ file: inout SubmittedFile) throws {
            guard file.state == .queued else { return }
            try store.updateFile(id: fileID, state: .active)
            file.state = .active
        }
        if file.progress == 0, let earlier = try store.identicalFile(member: file.member, sha256: file.sha256, excluding: fileID) {
            try store.updateFile(id: fileID, state: .active, reason: "identical to file \(earlier), ingested already: nothing changed")
            // Still, the member sent it again: its records and holdings are confirmed, not stale.
            try store.confirmAgain(member: file.member, earlier: earlier, by: fileID)
            return .ended(.finished(try finish(file, path: path)))
        }
        do {
            switch file.mode {
            case .deleteList:
                try activate(&file)
                if try !processDeleteList(file, path: path, shouldStop: shouldStop) { return .ended(.interrupted) }
            case .incremental, .full:
                if ISO20775Reader.isHoldingsXML(path: path) {
                    try activate(&file)
                    let documents = try holdingsDocuments(path)
                    if file.mode == .full && file.progress == 0 && !file.approved {
                        let carried = Set(documents.compactMap { $0.bibliographicID.map { CatalogStore.iso20775SourceID(bibliographicID: $0) } })
                        let present = (try? store.holdingsRecordIDs(member: file.member, iso20775: true)) ?? []
                        if let reason = guardReason([("ISO 20775 holdings records", present)], carried: carried) {
                            return .ended(.finished(try hold(file, path: path, reason: reason)))
                        }
                    }
                    if try !processHoldingsDocuments(file, documents, shouldStop: shouldStop) { return .ended(.interrupted) }
                    if file.mode == .full {
                        try store.withdrawAbsentHoldings(fileID: fileID, member: file.member, iso20775: true)
                    }
                    break
                }
                var total: Int?
                if file.total == nil || (file.mode == .full && file.progress == 0 && !file.approved) {
                    let survey = try survey(path, member: file.member, needsLocalIDs: file.mode == .full && !file.approved)
                    total = survey.total
                    status.advance(fileID: fileID, done: file.progress, total: survey.total)
                    if file.mode == .full && !file.approved,
                        let reason = guardReason(
                            [
                                ("records", try? store.activeLocalIDs(member: file.member)),
                                ("holdings records", try? store.holdingsRecordIDs(member: file.member)),
                            ], carried: survey.localIDs)
                    {
                        try activate(&file)
                        return .ended(.finished(try hold(file, path: path, reason: reason)))
                    }
                }
                return try processRecords(file, path: path, total: total, shouldStop: shouldStop)
            }
        } catch let error as MARCError {
            try store.updateFile(id: fileID, state: .active, reason: "cannot read the file: \(error.message)")
            logger.error("file failed", metadata: ["calisd.file": "\(fileID)", "calisd.reason": "\(error.message)"])
            return .ended(.finished(try finish(file, path: path, state: .failed)))
        }
        return .ended(.finished(try finish(file, path: path)))
    }

    /// Streams the records after the file's progress and hands them to the commit lane a batch at a time, then
    /// the file's ending (a full snapshot's withdrawals, the archive and the report). Commits stay in order. The
    /// first unit marks the file active with its `total`.
    private func processRecords(_ file: SubmittedFile, path: String, total: Int?, shouldStop: () -> Bool) throws -> Start {
        let completion = FileCompletion()
        let onFailure: @Sendable (any Error) -> Void = { [self] error in
            logger.error("ingest failed", metadata: ["calisd.file": "\(file.id)", "calisd.reason": "\(error)"])
            fail(fileID: file.id, reason: "\(error)")
            completion.set(.failure(error))
            status.finish(fileID: file.id)
        }
        var started = false
        /// The file's first unit marks it active (with its total, once surveyed); later ones leave it.
        func activation() -> BatchCommit.Activation? {
            defer { started = true }
            return !started && (file.state == .queued || total != nil) ? .init(total: total) : nil
        }
        func hand(_ records: [IncomingRecord], _ problems: [FileProblem], progress: Int) {
            let batch = BatchCommit(
                fileID: file.id, member: file.member, records: records, problems: problems, progress: progress,
                confirming: Self.confirming(file, problems), activation: activation())
            // While the lane commits what came before, the pages this batch's placement reads come into the cache.
            store.readAhead(for: records, member: file.member, matcher: matcher)
            lane.submit(
                fileID: file.id, member: file.member, .batch(batch),
                onCommitted: { [status] in status.advance(fileID: file.id, done: progress, total: nil) }, onFailure: onFailure)
        }
        func end(_ work: @escaping @Sendable () throws -> SubmittedFile.State) -> Start {
            let activation = activation()
            lane.submit(
                fileID: file.id, member: file.member, last: true,
                .ending { [self] in
                    if let activation { try store.updateFile(id: file.id, state: .active, total: activation.total) }
                    completion.set(.success(.finished(try work())))
                    status.finish(fileID: file.id)
                }, onFailure: onFailure)
            return .handedOver(completion)
        }
        var index = 0
        var records: [IncomingRecord] = []
        var problems: [FileProblem] = []
        let resumeAt = try store.progress(ofFile: file.id)
        do {
            let reader = try MARCReaders.open(path: path).reader
            while let item = try reader.next() {
                index += 1
                if index <= resumeAt { continue }
                // The padding after the last record is not a record.
                if item.record == nil && !item.hasErrors { continue }
                switch RecordTriage.triage(item, keys: keys) {
                case .store(let record, let warnings):
                    records.append(record)
                    problems += warnings
                case .reject(let problem):
                    problems.append(problem)
                }
                if records.count + problems.count >= settings.batchSize {
                    hand(records, problems, progress: index)
                    records.removeAll(keepingCapacity: true)
                    problems.removeAll(keepingCapacity: true)
                    // A batch that failed ended the file on the lane; reading on would be wasted.
                    if lane.hasFailed(file.id) { return end { .failed } }
                    if shouldStop() {
                        lane.waitUntilIdle()
                        return .ended(.interrupted)
                    }
                }
            }
        } catch let error as MARCError {
            // The batches handed over before the damage are committed first; the file then fails with the reason.
            return end { [self] in
                try store.updateFile(id: file.id, state: .active, reason: "cannot read the file: \(error.message)")
                logger.error("file failed", metadata: ["calisd.file": "\(file.id)", "calisd.reason": "\(error.message)"])
                return try finish(file, path: path, state: .failed)
            }
        }
        hand(records, problems, progress: index)
        return end { [self] in
            if file.mode == .full {
                let withdrawn = try store.withdrawAbsent(fileID: file.id, member: file.member, matcher: matcher)
                if withdrawn > 0 {
                    logger.info("records withdrawn", metadata: ["calisd.file": "\(file.id)", "calisd.count": "\(withdrawn)"])
                }
            }
            return try finish(file, path: path)
        }
    }

    /// A full snapshot's rejected records are still the member's: their stored versions are not withdrawn.
    private static func confirming(_ file: SubmittedFile, _ problems: [FileProblem]) -> [String] {
        file.mode == .full ? problems.filter { $0.severity == .error }.compactMap(\.localID) : []
    }

    fileprivate func commit(
        _ file: SubmittedFile, records: inout [IncomingRecord], problems: inout [FileProblem], progress: Int
    ) throws -> BatchCounts {
        let counts = try store.commitBatch(
            fileID: file.id, member: file.member, records: records, problems: problems, progress: progress,
            confirming: Self.confirming(file, problems), matcher: matcher)
        records.removeAll(keepingCapacity: true)
        problems.removeAll(keepingCapacity: true)
        status.advance(fileID: file.id, done: progress, total: nil)
        return counts
    }

    /// A `*.delete.txt`: one local id per line; blank lines and `#` comments skipped.
    private func processDeleteList(_ file: SubmittedFile, path: String, shouldStop: () -> Bool) throws -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IngestError("cannot read \(path)")
        }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let total = lines.last?.isEmpty == true ? lines.count - 1 : lines.count
        try store.updateFile(id: file.id, state: .active, total: total)
        var records: [IncomingRecord] = []
        var problems: [FileProblem] = []
        let resumeAt = try store.progress(ofFile: file.id)
        for (offset, line) in lines.prefix(total).enumerated() where offset >= resumeAt {
            guard let text = String(validating: line.filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self) else {
                problems.append(FileProblem(recordNumber: offset + 1, localID: nil, severity: .error, reason: "the line is not UTF-8"))
                continue
            }
            let localID = String(text.trimmingSpaces)
            if !localID.isEmpty && !localID.hasPrefix("#") {
                records.append(IncomingRecord(localID: localID, flavour: "unknown", originalEncoding: "utf-8", record: [], deleted: true))
            }
            if records.count + problems.count >= settings.batchSize {
                _ = try commit(file, records: &records, problems: &problems, progress: offset + 1)
                if shouldStop() { return false }
            }
        }
        _ = try commit(file, records: &records, problems: &problems, progress: total)
        return true
    }

    private func holdingsDocuments(_ path: String) throws -> [ISO20775Reader.Document] {
        var documents: [ISO20775Reader.Document] = []
        do {
            try ISO20775Reader.read(path: path) { documents.append($0) }
        } catch let error as HoldingsXMLError {
            throw MARCError(.corrupt, "ISO 20775 holdings XML: \(error.message)")
        }
        return documents
    }

    /// An ISO 20775 holdings file: each `<holdings>` document is stored as a holdings record of the bib it
    /// names, through the same batches, progress and report as MARC records. A full snapshot of them withdraws
    /// the member's ISO 20775 holdings it does not carry, not its records or MFHDs.
    private func processHoldingsDocuments(
        _ file: SubmittedFile, _ documents: [ISO20775Reader.Document], shouldStop: () -> Bool
    ) throws -> Bool {
        try store.updateFile(id: file.id, state: .active, total: documents.count)
        var records: [IncomingRecord] = []
        var problems: [FileProblem] = []
        let resumeAt = try store.progress(ofFile: file.id)
        for (offset, document) in documents.enumerated() where offset >= resumeAt {
            if let bib = document.bibliographicID {
                var incoming = IncomingRecord(
                    localID: CatalogStore.iso20775SourceID(bibliographicID: bib), flavour: "unknown", originalEncoding: "utf-8", record: [],
                    holdings: document.holdings, holdingsOf: bib)
                incoming.recordNumber = offset + 1
                records.append(incoming)
            } else {
                problems.append(
                    FileProblem(
                        recordNumber: offset + 1, localID: nil, severity: .error,
                        reason: "an ISO 20775 <holdings> without resource/resourceIdentifier/value: it names no bibliographic record"))
            }
            if records.count + problems.count >= settings.batchSize {
                _ = try commit(file, records: &records, problems: &problems, progress: offset + 1)
                if shouldStop() { return false }
            }
        }
        _ = try commit(file, records: &records, problems: &problems, progress: documents.count)
        return true
    }

    struct Survey {
        var total: Int
        var localIDs: Set<String>
    }

    /// One pass before the work: the number of records (progress shows "done of total"), and for a full snapshot
    /// the local ids it carries, which the withdrawal guard needs before anything changes.
    private func survey(_ path: String, member: String, needsLocalIDs: Bool) throws -> Survey {
        let opened = try MARCReaders.open(path: path)
        if !needsLocalIDs, opened.format == .iso2709, !opened.compressed {
            // Only the count is needed: count record terminators rather than parse every record twice.
            return Survey(total: try Self.countTerminators(path), localIDs: [])
        }
        let reader = opened.reader
        var survey = Survey(total: 0, localIDs: [])
        while let item = try reader.next() {
            survey.total += 1
            if let record = item.record, record.leader.recordStatus != UInt8(ascii: "d"), let id = record.controlNumber {
                survey.localIDs.insert(String(id.trimmingSpaces))
            }
        }
        return survey
    }

    /// Why a full snapshot must wait for an admin, or nil when its withdrawals are within the guard: of the
    /// member's records, and of its holdings records (MFHD).
    private func guardReason(_ kinds: [(what: String, present: Set<String>?)], carried: Set<String>) -> String? {
        let limit = live.current.withdrawalGuard
        for (what, present) in kinds {
            guard let present, !present.isEmpty else { continue }
            let absent = present.subtracting(carried).count
            let share = Double(absent) / Double(present.count)
            guard share > limit else { continue }
            return String(
                format: "a full snapshot that would withdraw %d of the member's %d %@ (%.1f %%), above the withdrawal guard of %.1f %%: held for an admin (calisd ctl files approve|reject)",
                absent, present.count, what, share * 100, limit * 100)
        }
        return nil
    }

    private func hold(_ file: SubmittedFile, path: String, reason: String) throws -> SubmittedFile.State {
        let held = folders.held(file.member)
        try StateFolders.ensure(held)
        let target = held + "/" + (path as NSString).lastPathComponent
        // Recorded before it moves: a stop in between leaves it in the spool, and start-up moves it on.
        try finishWithReport(fileID: file.id, state: .held, reason: reason, heldPath: target)
        try Claim.move(path, to: target)
        logger.warning("file held", metadata: ["calisd.file": "\(file.id)", "calisd.member": "\(file.member)", "calisd.reason": "\(reason)"])
        return .held
    }

    /// Archives the file, marks it finished and writes its report.
    private func finish(_ file: SubmittedFile, path: String, state: SubmittedFile.State = .done) throws -> SubmittedFile.State {
        let archive = folders.archive(file.member)
        try StateFolders.ensure(archive)
        let target = archive + "/" + (path as NSString).lastPathComponent
        // Recorded before it moves: a stop in between leaves it in the spool, and start-up moves it on. Moved
        // first, such a file was resumed from a path that was gone and failed with all its records in.
        try finishWithReport(fileID: file.id, state: state, archivePath: target)
        try Claim.move(path, to: target)
        if let finished = try store.file(id: file.id) {
            logger.info(
                "file finished",
                metadata: [
                    "calisd.file": "\(file.id)", "calisd.member": "\(file.member)", "calisd.state": "\(state.rawValue)",
                    "calisd.read": "\(finished.read)", "calisd.added": "\(finished.added)", "calisd.changed": "\(finished.changed)",
                    "calisd.unchanged": "\(finished.unchanged)", "calisd.deleted": "\(finished.deleted)",
                    "calisd.rejected": "\(finished.rejected)", "calisd.withdrawn": "\(finished.withdrawn)",
                ])
        }
        return state
    }

    /// Ends a file that could not be ingested (the error is logged by the caller): archived if it is still
    /// there, reported to the member as failed with the reason.
    public func fail(fileID: Int64, reason: String) {
        guard let file = try? store.file(id: fileID) else { return }
        try? store.updateFile(id: fileID, state: .active, reason: reason)
        if let path = file.spoolPath, FileManager.default.fileExists(atPath: path),
            (try? finish(file, path: path, state: .failed)) != nil
        {
            return
        }
        try? finishWithReport(fileID: fileID, state: .failed)
    }

    /// Archives a held file an admin rejected and reports it. Run again after a stop (start-up queues every reject
    /// not yet ended), it finishes what is left: the folder is the decision's day, so a second run finds the file
    /// where the first one moved it.
    public func rejectHeld(fileID: Int64) throws {
        guard let file = try store.file(id: fileID), let path = file.spoolPath else { return }
        let decided = file.finishedAt.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date()
        let archive = folders.archive(file.member, at: decided)
        try StateFolders.ensure(archive)
        let target = archive + "/" + (path as NSString).lastPathComponent
        if FileManager.default.fileExists(atPath: path) { try Claim.move(path, to: target) }
        try finishWithReport(fileID: fileID, state: .rejected, archivePath: target)
    }

    /// Records in an ISO 2709 file, by their terminators (a last record without one counts too).
    static func countTerminators(_ path: String) throws -> Int {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw IngestError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var count = 0
        // Data after the last terminator that is not padding (newlines, spaces, NULs, ^Z) is one more record.
        var unterminated = false
        while true {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if read < 0 && errno == EINTR { continue }
            if read < 0 { throw IngestError("cannot read \(path): \(String(cString: strerror(errno)))") }
            if read == 0 { break }
            buffer.withUnsafeBytes { raw in
                var position = raw.baseAddress!
                let end = raw.baseAddress! + read
                while let found = memchr(position, Int32(MARCDelimiter.record), end - position) {
                    count += 1
                    unterminated = false
                    position = UnsafeRawPointer(found) + 1
                }
                let tail = UnsafeRawBufferPointer(start: position, count: end - position)
                if tail.contains(where: { ![0x00, 0x0A, 0x0D, 0x1A, 0x20].contains($0) }) { unterminated = true }
            }
        }
        return unterminated ? count + 1 : count
    }

    static func sha256(_ path: String) throws -> (String, Int64) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw IngestError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var size: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw IngestError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            hasher.update(data: buffer[..<count])
            size += Int64(count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }
}
