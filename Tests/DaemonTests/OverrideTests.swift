import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// An admin's merge, split, unlink and lock through `calisd ctl`, and that they outlive re-submissions.
@Suite("overrides: merge, split, unlink, lock")
struct OverrideTests {
    static func union(_ daemon: DaemonProcess, _ member: String, _ id: String) async throws -> String? {
        try await daemon.json(SourceRecordBody.self, "/v1/members/\(member)/records/\(id)").unionID
    }

    @Test("merge joins two different records and keeps them joined across a changed re-submission; unlink lets the rules decide again")
    func mergeAndUnlink() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        try daemon.drop(try DaemonSupport.iso([DaemonSupport.rewrite(books[0], controlNumber: "a1")]), member: "M001", name: "a.mrc")
        try daemon.drop(try DaemonSupport.iso([DaemonSupport.rewrite(books[1], controlNumber: "b1")]), member: "M002", name: "b.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        #expect(try await Self.union(daemon, "M001", "a1") != Self.union(daemon, "M002", "b1"))
        let mergedAway = try #require(try await Self.union(daemon, "M002", "b1"))

        let merge = try daemon.ctl("records", "merge", "M001:a1", "M002:b1")
        #expect(merge.status == 0, "\(merge.stderrText)")
        let survivor = try #require(try await Self.union(daemon, "M001", "a1"))
        #expect(try await Self.union(daemon, "M002", "b1") == survivor)
        // b1's old union record was merged away: it answers 301 to the survivor, and its body names it.
        let old = try await daemon.get("/v1/records/\(mergedAway)")
        #expect(old.status == 301 && old.location == "/v1/records/\(survivor)", "\(old.status) \(old.text)")
        let body = try JSONDecoder().decode(UnionRecordBody.self, from: Data(old.body))
        #expect(body.status == "merged" && body.redirectTo == survivor)
        // M002 sends a changed version: the must-link holds.
        var changed = DaemonSupport.rewrite(books[1], controlNumber: "b1")
        changed.appendDataField("500", subfields: [(UInt8(ascii: "a"), "Revised record.")])
        try daemon.drop(try DaemonSupport.iso([changed]), member: "M002", name: "b2.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        #expect(try await Self.union(daemon, "M001", "a1") == Self.union(daemon, "M002", "b1"))

        #expect(try daemon.ctl("records", "unlink", "M001:a1", "M002:b1").status == 0)
        #expect(try await Self.union(daemon, "M001", "a1") != Self.union(daemon, "M002", "b1"))
    }

    @Test("split keeps two matching records apart, also when the same records come again; bad requests fail clearly")
    func split() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.fixture("loc-books-50.mrc")
        try daemon.drop(books, member: "M001", name: "books.mrc")
        try daemon.drop(books, member: "M002", name: "books.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let id = try DaemonSupport.locBooks()[0].controlNumber!.trimmingCharacters(in: .whitespaces)
        #expect(try await Self.union(daemon, "M001", id) == Self.union(daemon, "M002", id))

        let split = try daemon.ctl("--json", "records", "split", "M001:\(id)", "M002:\(id)")
        #expect(split.status == 0, "\(split.stderrText)")
        let result = try JSONDecoder().decode(LinkResultBody.self, from: split.stdout)
        #expect(result.link == "cannot" && result.aUnion != result.bUnion)
        // M002 re-sends its catalogue with a change to every record: the split holds.
        let changed = try DaemonSupport.iso(try DaemonSupport.locBooks().map { book -> MARCRecord in
            var copy = DaemonSupport.rewrite(book, controlNumber: book.controlNumber!)
            copy.appendDataField("500", subfields: [(UInt8(ascii: "a"), "Re-catalogued.")])
            return copy
        })
        try daemon.drop(changed, member: "M002", name: "again.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        #expect(try await Self.union(daemon, "M001", id) != Self.union(daemon, "M002", id))
        // The other books still pair up.
        let other = try DaemonSupport.locBooks()[1].controlNumber!.trimmingCharacters(in: .whitespaces)
        #expect(try await Self.union(daemon, "M001", other) == Self.union(daemon, "M002", other))

        let same = try daemon.ctl("records", "merge", "M001:\(id)", "M001:\(id)")
        #expect(same.status == 1 && same.stderrText.contains("the same record"))
        let unknown = try daemon.ctl("records", "split", "M001:\(id)", "M002:nope")
        #expect(unknown.status == 1 && unknown.stderrText.contains("has no record nope"))
        let malformed = try daemon.ctl("records", "merge", "M001", "M002:\(id)")
        #expect(malformed.status == 1 && malformed.stderrText.contains("MEMBER:LOCALID"))
    }

    @Test("a locked record is not overwritten by a re-submission until it is unlocked")
    func lock() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let book = DaemonSupport.rewrite(try DaemonSupport.locBooks()[0], controlNumber: "L1")
        try daemon.drop(try DaemonSupport.iso([book]), member: "M001", name: "one.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        #expect(try daemon.ctl("records", "lock", "M001:L1").status == 0)
        var changed = book
        changed.appendDataField("500", subfields: [(UInt8(ascii: "a"), "Local change.")])
        try daemon.drop(try DaemonSupport.iso([changed]), member: "M001", name: "two.mrc")
        let second = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2).first { $0.name == "two.mrc" }!
        #expect(second.counts.unchanged == 1 && second.counts.changed == 0)
        #expect(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/L1").locked)
        #expect(try daemon.ctl("records", "lock", "--unlock", "M001:L1").status == 0)
        // (The same file again would be an identical file, a no-op by its SHA-256: the member sends its next version.)
        changed.appendDataField("500", subfields: [(UInt8(ascii: "a"), "Another change.")])
        try daemon.drop(try DaemonSupport.iso([changed]), member: "M001", name: "three.mrc")
        let third = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3).first { $0.name == "three.mrc" }!
        #expect(third.counts.changed == 1)
    }
}
