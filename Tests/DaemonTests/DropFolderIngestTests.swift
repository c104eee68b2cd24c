import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Members drop files; the real daemon takes them. Exact counts, from the socket and the reports.
@Suite("ingest from the drop folders", .serialized)
struct DropFolderIngestTests {
    @Test("two members send the same 50 books: 100 source records, 50 union records, each book one union record for both")
    func twoMembersShareUnionRecords() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.fixture("loc-books-50.mrc")
        try daemon.drop(books, member: "M001", name: "books.mrc")
        try daemon.drop(books, member: "M002", name: "books.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let status = try await DaemonSupport.status(daemon)
        #expect(status.records.source == 100)
        #expect(status.records.union == 50)
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").records == 50)
        // Every book: the two members' records sit in one union record, which lists both.
        for record in try DaemonSupport.locBooks() {
            let id = String(record.controlNumber!.trimmingCharacters(in: .whitespaces))
            let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let first = try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(escaped)")
            let second = try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/\(escaped)")
            #expect(first.unionID != nil && first.unionID == second.unionID, "\(id)")
            let union = try await daemon.json(UnionRecordBody.self, "/v1/records/\(first.unionID!)")
            #expect(Set(union.sources.map(\.member)) == ["M001", "M002"])
        }
        // Both folders are empty again; the files are archived.
        #expect(daemon.entries(member: "M001").isEmpty && daemon.entries(member: "M002").isEmpty)
        let report = try daemon.report(member: "M001", name: "books.mrc")
        #expect((report["counts"] as? [String: Int])?["added"] == 50)
    }

    @Test("files in a folder whose member is not registered wait, untouched, and are taken once the member is added")
    func unregisteredMemberFilesWait() async throws {
        let daemon = try await DaemonSupport.started(members: [])
        defer { daemon.remove() }
        try FileManager.default.createDirectory(atPath: daemon.memberFolder("M007"), withIntermediateDirectories: true)
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M007", name: "early.mrc")
        try await Task.sleep(for: .seconds(2))
        #expect(daemon.entries(member: "M007") == ["early.mrc"])
        #expect(daemon.log.contains("has no registered member"))
        #expect(try daemon.ctl("members", "add", "M007", "--name", "Late").status == 0)
        let file = try await DaemonSupport.waitForFinished(daemon, member: "M007", count: 1)[0]
        #expect(file.name == "early.mrc" && file.counts.added == 50)
    }

    @Test("re-dropping an identical file changes nothing and says so; the same records under another name count as unchanged")
    func identicalResubmission() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let books = try DaemonSupport.fixture("loc-books-50.mrc")
        try daemon.drop(books, member: "M001", name: "books.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let changesBefore = try await DaemonSupport.status(daemon)
        try daemon.drop(books, member: "M001", name: "books.mrc")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        let again = files.first { $0.id == files.map(\.id).max() }!
        #expect(again.state == "done")
        #expect(again.counts == FileBody.Counts(read: 0, added: 0, changed: 0, unchanged: 0, deleted: 0, rejected: 0, withdrawn: 0))
        #expect(again.reason?.contains("identical to file") == true)
        #expect(try await DaemonSupport.status(daemon).records == changesBefore.records)
        // The same records in different bytes (reversed order): read 50, all unchanged.
        let reversed = try DaemonSupport.iso(try DaemonSupport.locBooks().reversed())
        try daemon.drop(reversed, member: "M001", name: "reversed.mrc")
        let third = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3).first { $0.name == "reversed.mrc" }!
        #expect(third.counts.read == 50 && third.counts.unchanged == 50 && third.counts.added == 0 && third.counts.changed == 0)
    }

    @Test("a file with a corrupted record keeps the good ones, reports the bad one by number and 001, and gives it back")
    func corruptedRecordIsRejectedAlone() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        var bytes = try DaemonSupport.iso(Array(books[0..<3]))
        // Its fifth field cannot be found: an error (a warning would mean the record was recovered whole).
        let broken = try DaemonSupport.unreadable(DaemonSupport.rewrite(books[3], controlNumber: "BROKEN-1"))
        bytes += broken
        bytes += try DaemonSupport.iso(Array(books[4..<6]))
        try daemon.drop(bytes, member: "M001", name: "mixed.mrc")
        let file = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)[0]
        #expect(file.counts.read == 6 && file.counts.added == 5 && file.counts.rejected == 1, "\(file.counts)")
        let report = try daemon.report(member: "M001", name: "mixed.mrc")
        let problems = report["problems"] as? [[String: Any]] ?? []
        let rejected = problems.filter { $0["severity"] as? String == "error" }
        #expect(rejected.count == 1)
        #expect(rejected.first?["record"] as? Int == 4)
        #expect(rejected.first?["001"] as? String == "BROKEN-1")
        #expect(report["rejected_file"] as? String == "mixed.mrc.rejected.mrc")
        let given = try Data(contentsOf: URL(fileURLWithPath: daemon.memberFolder("M001") + "/reports/mixed.mrc.rejected.mrc"))
        #expect([UInt8](given) == broken, "the rejected record comes back exactly as sent")
        #expect(try await DaemonSupport.status(daemon).records.source == 5)
    }

    @Test("a symlink, a hard link, a folder and a name with a control character are refused, moved out, reported, never followed")
    func refusedEntries() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let folder = daemon.memberFolder("M001")
        let outside = daemon.root.appendingPathComponent("outside.mrc").path
        let books = try DaemonSupport.fixture("loc-books-50.mrc")
        #expect(FileManager.default.createFile(atPath: outside, contents: Data(books)))
        #expect(symlink(outside, folder + "/link.mrc") == 0)
        #expect(link(outside, folder + "/hard.mrc") == 0)
        // A folder with a file in it, renamed in whole (the daemon would move an empty one before it filled).
        let staged = daemon.root.appendingPathComponent("sub").path
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: staged + "/inside.mrc", contents: Data(books)))
        #expect(rename(staged, folder + "/sub") == 0)
        #expect(FileManager.default.createFile(atPath: folder + "/bad\u{07}name.mrc", contents: Data(books)))
        try await waitUntil("the member folder is empty") { daemon.entries(member: "M001").isEmpty }
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 4)
        #expect(files.count == 4)
        #expect(files.allSatisfy { $0.state == "rejected" && $0.counts.read == 0 })
        let reasons = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.reason ?? "") })
        #expect(reasons["link.mrc"]?.contains("symbolic link") == true)
        #expect(reasons["hard.mrc"]?.contains("hard link") == true)
        #expect(reasons["sub"]?.contains("folder") == true)
        #expect(reasons["bad\u{07}name.mrc"]?.contains("control character") == true)
        // Nothing was read through them, and the file outside is untouched.
        #expect(try await DaemonSupport.status(daemon).records.source == 0)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: outside))) == books)
        for name in ["link.mrc", "hard.mrc", "sub", "bad_name.mrc"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/reports/\(name).report.json"), "\(name)")
        }
    }

    @Test("a file in drop/M001 cannot change M002's records, even with the same local ids")
    func membersAreIsolated() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        try daemon.drop(try DaemonSupport.iso(books), member: "M002", name: "mine.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let id = books[0].controlNumber!.trimmingCharacters(in: .whitespaces)
        let before = try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/\(id)")
        // M001 sends a deletion and a changed version under M002's ids.
        let deletion = DaemonSupport.rewrite(books[0], controlNumber: id, status: UInt8(ascii: "d"))
        var changed = DaemonSupport.rewrite(books[1], controlNumber: books[1].controlNumber!)
        changed.appendDataField("500", subfields: [(UInt8(ascii: "a"), "Changed by another library.")])
        try daemon.drop(try DaemonSupport.iso([deletion, changed]), member: "M001", name: "other.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let after = try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/\(id)")
        #expect(after == before)
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M002").records == 50)
        #expect(try await daemon.json(MemberBody.self, "/v1/members/M001").records == 1)
    }

    @Test("leader/05 d and a .delete.txt delete the member's records; a union record left empty is deleted too")
    func deletions() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "all.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let first = books[0].controlNumber!.trimmingCharacters(in: .whitespaces)
        try daemon.drop(
            try DaemonSupport.iso([DaemonSupport.rewrite(books[0], controlNumber: first, status: UInt8(ascii: "d"))]),
            member: "M001", name: "del.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        let ids = books[1..<4].map { $0.controlNumber!.trimmingCharacters(in: .whitespaces) }
        try daemon.drop(Array(("# withdrawn titles\n" + ids.joined(separator: "\n") + "\n\n  nonexistent  \n").utf8), member: "M001", name: "old.delete.txt")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3)
        let list = files.first { $0.name == "old.delete.txt" }!
        #expect(list.mode == "delete-list" && list.counts.deleted == 3 && list.counts.unchanged == 1)
        #expect(files.first { $0.name == "del.mrc" }!.counts.deleted == 1)
        let status = try await DaemonSupport.status(daemon)
        #expect(status.records.source == 46 && status.records.union == 46)
        let gone = try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(first)")
        #expect(gone.status == "deleted" && gone.unionID == nil)
    }

    @Test("a record a full snapshot carries but that is rejected keeps its stored version: it is not withdrawn")
    func fullSnapshotKeepsRejectedRecords() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "all.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        var bytes = try DaemonSupport.iso(Array(books.dropLast()))
        // The last record, unreadable: an error.
        let broken = try DaemonSupport.unreadable(books.last!)
        bytes += broken
        try daemon.drop(bytes, member: "M001", name: "snapshot.full.mrc")
        let file = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2).first { $0.name == "snapshot.full.mrc" }!
        #expect(file.state == "done" && file.counts.rejected == 1 && file.counts.withdrawn == 0, "\(file.counts)")
        #expect(try await DaemonSupport.status(daemon).records.source == 50)
    }

    @Test("a full snapshot over the withdrawal guard is held with nothing withdrawn; approve withdraws, reject changes nothing")
    func fullSnapshotGuard() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "all.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        // Within the guard (3 of 50 = 6 %): applied at once.
        try daemon.drop(try DaemonSupport.iso(Array(books[3...])), member: "M001", name: "cat.full.mrc")
        var files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        #expect(files.first { $0.name == "cat.full.mrc" }!.counts.withdrawn == 3)
        #expect(try await DaemonSupport.status(daemon).records.source == 47)
        // Over it (37 of 47): held, nothing changes.
        try daemon.drop(try DaemonSupport.iso(Array(books[3..<13])), member: "M001", name: "small.full.mrc")
        files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3)
        let held = files.first { $0.name == "small.full.mrc" }!
        #expect(held.state == "held" && held.counts.withdrawn == 0 && held.counts.added == 0)
        #expect(held.reason?.contains("withdrawal guard") == true)
        var status = try await DaemonSupport.status(daemon)
        #expect(status.records.source == 47 && status.ingest.held == 1)
        let approve = try daemon.ctl("files", "approve", String(held.id))
        #expect(approve.status == 0, "\(approve.stderrText)")
        try await waitUntil("the approved file is done") {
            try await daemon.json(FileBody.self, "/v1/files/\(held.id)").state == "done"
        }
        let done = try await daemon.json(FileBody.self, "/v1/files/\(held.id)")
        #expect(done.counts.withdrawn == 37 && done.counts.unchanged == 10)
        status = try await DaemonSupport.status(daemon)
        #expect(status.records.source == 10 && status.ingest.held == 0)
        // Approving again is refused: the file is no longer held.
        let again = try daemon.ctl("files", "approve", String(held.id))
        #expect(again.status == 1 && again.stderrText.contains("not held"))
        // A second held snapshot, rejected: nothing changes.
        try daemon.drop(try DaemonSupport.iso([books[3]]), member: "M001", name: "tiny.full.mrc")
        files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 4)
        let second = files.first { $0.name == "tiny.full.mrc" }!
        #expect(second.state == "held")
        #expect(try daemon.ctl("files", "reject", String(second.id)).status == 0)
        try await waitUntil("the rejected file is archived") {
            let report = try? daemon.report(member: "M001", name: "tiny.full.mrc")
            return report?["state"] as? String == "rejected"
        }
        #expect(try await DaemonSupport.status(daemon).records.source == 10)
    }
}
