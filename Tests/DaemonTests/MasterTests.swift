import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// A union record's master is its best source record: fuller encoding level, then more complete, then newer.
@Suite("masters")
struct MasterTests {
    @Test("the full-level record is master over a minimal-level one, and a more complete full record takes over when it arrives")
    func mastersAreChosenByQuality() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        defer { daemon.remove() }
        let book = try DaemonSupport.locBooks()[0]
        // M001's copy: minimal level (leader/17 7), subjects dropped.
        var minimal = MARCRecord(leader: book.leader)
        minimal.leader[17] = UInt8(ascii: "7")
        for field in book.fields where !field.tag.string.hasPrefix("6") { minimal.append(field) }
        try daemon.drop(try DaemonSupport.iso([minimal]), member: "M001", name: "min.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let id = book.controlNumber!.trimmingCharacters(in: .whitespaces)
        let union = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(id)").unionID)
        #expect(try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)").master == "M001:\(id)")

        try daemon.drop(try DaemonSupport.iso([book]), member: "M002", name: "full.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        #expect(try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/\(id)").unionID == union)
        #expect(try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)").master == "M002:\(id)")

        // M001 upgrades its record to full level with a note more than M002's: it becomes the master.
        var upgraded = MARCRecord(leader: book.leader)
        for field in book.fields { upgraded.append(field) }
        upgraded.appendDataField("500", subfields: [(UInt8(ascii: "a"), "Upgraded by the member.")])
        try daemon.drop(try DaemonSupport.iso([upgraded]), member: "M001", name: "full.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        #expect(try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)").master == "M001:\(id)")
    }

    @Test("among records of equal quality the member with the higher priority is master, set with ctl members set")
    func priorityBreaksTies() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        defer { daemon.remove() }
        let book = try DaemonSupport.locBooks()[0]
        let id = book.controlNumber!.trimmingCharacters(in: .whitespaces)
        try daemon.drop(try DaemonSupport.iso([book]), member: "M001", name: "a.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try daemon.drop(try DaemonSupport.iso([book]), member: "M002", name: "b.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let union = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(id)").unionID)
        // The merged view: every member holding it, and the identifiers of all its records.
        let merged = try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)")
        #expect(merged.members == ["M001", "M002"])
        #expect(merged.identifiers["lccn"] == [id], "\(merged.identifiers)")
        // The same quality: priority decides, either way.
        #expect(try daemon.ctl("members", "set", "M002", "--priority", "5").status == 0)
        #expect(try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)").master == "M002:\(id)")
        let set = try daemon.ctl("--json", "members", "set", "M001", "--priority", "10")
        #expect(set.status == 0, "\(set.stderrText)")
        #expect(try JSONDecoder().decode(MemberBody.self, from: set.stdout).priority == 10)
        #expect(try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)").master == "M001:\(id)")
        // A better record still wins over priority: quality comes first.
        var fuller = MARCRecord(leader: book.leader)
        for field in book.fields { fuller.append(field) }
        fuller.appendDataField("500", subfields: [(UInt8(ascii: "a"), "A note M001 lacks.")])
        try daemon.drop(try DaemonSupport.iso([fuller]), member: "M002", name: "c.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        #expect(try await daemon.json(UnionRecordBody.self, "/v1/records/\(union)").master == "M002:\(id)")

        let listed = try daemon.ctl("members", "list")
        #expect(listed.stdoutText.contains("PRIORITY"))
        let unknown = try daemon.ctl("members", "set", "M999", "--priority", "1")
        #expect(unknown.status == 1 && unknown.stderrText.contains("no member M999"), "\(unknown.stderrText)")
        let missing = try daemon.ctl("members", "set", "M001")
        #expect(missing.status == 64 && missing.stderrText.contains("--priority"), "\(missing.stderrText)")
        let outOfRange = try daemon.ctl("members", "set", "M001", "--priority", "5000")
        #expect(outOfRange.status == 64 && outOfRange.stderrText.contains("between -1000 and 1000"))
    }
}
