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
}
