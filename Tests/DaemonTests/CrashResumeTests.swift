import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A daemon killed or stopped in the middle of a file resumes it: nothing lost, nothing counted twice.
@Suite("crash and shutdown in the middle of a file", .serialized)
struct CrashResumeTests {
    static let config = "[ingest]\nsettle_seconds = 1\nbatch_size = 100\n"

    /// Waits until the file is being ingested part-way — past `atLeast` records and still `beforeEnd` records
    /// (many batches) short of its end, so that on a loaded machine the signal sent next lands before the end —
    /// and returns how far it got. The window is most of the file: a status poll delayed by parallel tests
    /// cannot miss it.
    static func waitPartWay(_ daemon: DaemonProcess, atLeast: Int, beforeEnd: Int) async throws -> StatusBody.Current {
        var seen: StatusBody.Current?
        try await waitUntil("the file is part-way", timeout: .seconds(180)) {
            let current = try await DaemonSupport.status(daemon).ingest.current
            if let current, let total = current.total, current.done >= atLeast, current.done + beforeEnd <= total {
                seen = current
                return true
            }
            return false
        }
        return seen!
    }

    @Test("kill -9 in the middle of a large file, then a restart: exactly the file's records, each counted once")
    func killNineResumes() async throws {
        let count = 30_000
        let daemon = try await DaemonSupport.started(members: ["M001"], config: Self.config)
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.distinctBooks(count), member: "M001", name: "large.mrc")
        let partWay = try await Self.waitPartWay(daemon, atLeast: 1_000, beforeEnd: 3_000)
        #expect(try await daemon.stop(signal: SIGKILL) == -SIGKILL)
        print("kill -9 landed with file \(partWay.file) at \(partWay.done) of \(partWay.total ?? 0) records")
        try await daemon.start()
        let file = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1, timeout: .seconds(300))[0]
        #expect(file.state == "done")
        #expect(file.counts.read == count && file.counts.added == count, "\(file.counts)")
        #expect(file.counts.changed == 0 && file.counts.unchanged == 0 && file.counts.rejected == 0)
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").records == count)
        let report = try daemon.report(member: "M001", name: "large.mrc")
        #expect((report["counts"] as? [String: Int])?["read"] == count)
        #expect(daemon.log.contains("resuming file"))
    }

    @Test("SIGTERM in the middle of a file commits the batch, exits 0, and the restart finishes the file")
    func sigtermFinishesTheBatch() async throws {
        let count = 8_000
        let daemon = try await DaemonSupport.started(members: ["M001"], config: Self.config)
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.distinctBooks(count), member: "M001", name: "large.mrc")
        _ = try await Self.waitPartWay(daemon, atLeast: 500, beforeEnd: 1_500)
        #expect(try await daemon.stop(signal: SIGTERM) == 0)
        #expect(daemon.log.contains("stopped between batches"))
        try await daemon.start()
        let file = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1, timeout: .seconds(300))[0]
        #expect(file.counts.read == count && file.counts.added == count, "\(file.counts)")
        #expect(try await DaemonSupport.status(daemon).records.source == count)
    }

    /// A daemon that has ingested and archived one file of 50 records from M001.
    static func daemonWithOneFinishedFile() async throws -> (DaemonProcess, file: Int64) {
        let daemon = try await DaemonSupport.started(members: ["M001"], config: Self.config)
        do {
            try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "books.mrc")
            return (daemon, try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)[0].id)
        } catch {
            daemon.remove()
            throw error
        }
    }

    /// Stops the daemon and puts the file back in the spool, as a stop between recording its end and moving it
    /// leaves it. Returns where `column` recorded it to go and where it is now.
    static func stopBeforeTheMove(_ daemon: DaemonProcess, file: Int64, recordedIn column: String) async throws -> (recorded: String, spool: String) {
        #expect(try await daemon.stop() == 0)
        let recorded = try RetentionTests.sql(daemon, "SELECT \(column) FROM files WHERE id = \(file)")
        let spool = daemon.stateDirectory + "/spool/M001/" + (recorded as NSString).lastPathComponent
        try FileManager.default.moveItem(atPath: recorded, toPath: spool)
        return (recorded, spool)
    }

    /// Starts the daemon and expects it to move the file from the spool to where it was recorded to go.
    static func restartMovesIt(_ daemon: DaemonProcess, from spool: String, to recorded: String) async throws {
        try await daemon.start()
        try await waitUntil("the file is where it was recorded to go", timeout: .seconds(30)) { FileManager.default.fileExists(atPath: recorded) }
        #expect(!FileManager.default.fileExists(atPath: spool))
        #expect(daemon.log.contains("moving a finished file where it was recorded to go"), "\(daemon.log)")
    }

    @Test("a stop after a file's end is recorded and before it is archived: the restart archives it and ingests nothing twice")
    func stopBeforeTheArchiveMove() async throws {
        let (daemon, file) = try await Self.daemonWithOneFinishedFile()
        defer { daemon.remove() }
        let (recorded, spool) = try await Self.stopBeforeTheMove(daemon, file: file, recordedIn: "archive_path")
        try await Self.restartMovesIt(daemon, from: spool, to: recorded)
        try await Task.sleep(for: .seconds(2))
        #expect(try RetentionTests.sql(daemon, "SELECT group_concat(id || ':' || state) FROM files") == "\(file):done")
        #expect(try await DaemonSupport.status(daemon).records.source == 50)
    }

    @Test("a finished file left in the spool whose recorded place cannot be made stays in the spool, logged, and is not ingested again")
    func unreachableRecordedPlaceLeavesTheFile() async throws {
        let (daemon, file) = try await Self.daemonWithOneFinishedFile()
        defer { daemon.remove() }
        let (recorded, spool) = try await Self.stopBeforeTheMove(daemon, file: file, recordedIn: "archive_path")
        // The member's archive folder is a plain file now, so the recorded place cannot be made.
        let archive = (recorded as NSString).deletingLastPathComponent
        try FileManager.default.removeItem(atPath: archive)
        #expect(FileManager.default.createFile(atPath: archive, contents: Data("not a folder".utf8)))

        try await daemon.start()
        try await waitUntil("the start-up says it cannot move the file on") { daemon.log.contains("cannot move a finished file on") }
        try await Task.sleep(for: .seconds(2))
        #expect(FileManager.default.fileExists(atPath: spool), "the file must stay where an admin finds it")
        #expect(!daemon.log.contains("registering a claimed file found in the spool"), "\(daemon.log)")
        #expect(try RetentionTests.sql(daemon, "SELECT group_concat(id || ':' || state) FROM files") == "\(file):done")
        #expect(try await DaemonSupport.status(daemon).records.source == 50)

        // Once the folder is repaired, the next start moves it where it was recorded to go.
        #expect(try await daemon.stop() == 0)
        try FileManager.default.removeItem(atPath: archive)
        try await Self.restartMovesIt(daemon, from: spool, to: recorded)
        #expect(try RetentionTests.sql(daemon, "SELECT count(*) FROM files") == "1")
    }

    /// A daemon holding M001's full snapshot `small.full.mrc` (10 of its 50 records) for an admin.
    static func daemonWithAHeldSnapshot() async throws -> (DaemonProcess, held: FileBody) {
        let daemon = try await DaemonSupport.started(members: ["M001"], config: Self.config)
        do {
            let books = try DaemonSupport.locBooks()
            try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "all.mrc")
            try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
            try daemon.drop(try DaemonSupport.iso(Array(books[..<10])), member: "M001", name: "small.full.mrc")
            let held = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2).first { $0.name == "small.full.mrc" }!
            #expect(held.state == "held")
            return (daemon, held)
        } catch {
            daemon.remove()
            throw error
        }
    }

    @Test(
        "a stop after an admin rejects a held file and before it is archived and reported: the restart finishes the reject",
        arguments: [false, true])
    func stopInTheMiddleOfAReject(movedBeforeTheStop: Bool) async throws {
        let (daemon, held) = try await Self.daemonWithAHeldSnapshot()
        defer { daemon.remove() }
        #expect(try await daemon.stop() == 0)
        // What `calisd ctl files reject` records before its job runs, on a day long past: the archive folder must
        // be the decision's day, so a run after midnight finds the file where an earlier one moved it.
        _ = try RetentionTests.sql(
            daemon,
            "UPDATE files SET state = 'rejected', reason = 'rejected by an admin', finished_at = 1700000000 WHERE id = \(held.id)")
        let heldPath = try RetentionTests.sql(daemon, "SELECT held_path FROM files WHERE id = \(held.id)")
        let archived = daemon.stateDirectory + "/archive/M001/2023-11-14/" + (heldPath as NSString).lastPathComponent
        if movedBeforeTheStop {
            try FileManager.default.createDirectory(
                atPath: (archived as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: heldPath, toPath: archived)
        }

        try await daemon.start()
        try await waitUntil("the rejected file is reported") {
            (try? daemon.report(member: "M001", name: "small.full.mrc"))?["state"] as? String == "rejected"
        }
        #expect(FileManager.default.fileExists(atPath: archived))
        #expect(!FileManager.default.fileExists(atPath: heldPath))
        #expect(
            try RetentionTests.sql(daemon, "SELECT state || '|' || archive_path || '|' || ifnull(held_path, '-') FROM files WHERE id = \(held.id)")
                == "rejected|\(archived)|-")
        #expect(daemon.log.contains("finishing a rejected held file"), "\(daemon.log)")
        let status = try await DaemonSupport.status(daemon)
        #expect(status.records.source == 50 && status.ingest.held == 0, "nothing of the rejected snapshot applied: \(status.records), \(status.ingest)")
    }

    @Test("a stop after a held snapshot is recorded and before it is moved to held/: the restart moves it, and approving it applies it")
    func stopBeforeTheHeldMove() async throws {
        let (daemon, held) = try await Self.daemonWithAHeldSnapshot()
        defer { daemon.remove() }
        let (recorded, spool) = try await Self.stopBeforeTheMove(daemon, file: held.id, recordedIn: "held_path")
        try await Self.restartMovesIt(daemon, from: spool, to: recorded)
        #expect(try await DaemonSupport.status(daemon).ingest.held == 1)
        #expect(try daemon.ctl("files", "approve", String(held.id)).status == 0)
        try await waitUntil("the approved file is done") {
            try await daemon.json(FileBody.self, "/v1/files/\(held.id)").state == "done"
        }
        #expect(try await DaemonSupport.status(daemon).records.source == 10)
        #expect(try RetentionTests.sql(daemon, "SELECT count(*) FROM files") == "2")
    }
}
