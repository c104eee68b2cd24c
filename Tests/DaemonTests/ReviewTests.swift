import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// Near misses go to the review queue; a person's accept or reject settles the pair for good.
@Suite("review queue")
struct ReviewTests {
    /// A book with the given main entry and publisher: two of these with one title and year but different
    /// headings and publishers score below the threshold without a conflict — a near miss.
    static func book(_ id: String, title: String, author: String, publisher: String) -> MARCRecord {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: id)
        record.appendControlField("008", value: "800108s1899    nyu           000 0 eng d")
        record.appendDataField("100", indicators: (0x31, 0x20), subfields: [(UInt8(ascii: "a"), author)])
        record.appendDataField("245", indicators: (0x31, 0x30), subfields: [(UInt8(ascii: "a"), title)])
        record.appendDataField("260", subfields: [(UInt8(ascii: "a"), "New York :"), (UInt8(ascii: "b"), publisher), (UInt8(ascii: "c"), "1899.")])
        return record
    }

    @Test("a near miss is queued; accept merges it, reject keeps a second one apart; decided items cannot be decided again")
    func reviewQueue() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        try daemon.drop(
            try DaemonSupport.iso([
                Self.book("a1", title: "Lives of the engineers", author: "Smiles, Samuel,", publisher: "Harper,"),
                Self.book("a2", title: "Self-help", author: "Smiles, Samuel,", publisher: "Harper,"),
            ]), member: "M001", name: "a.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try daemon.drop(
            try DaemonSupport.iso([
                Self.book("b1", title: "Lives of the engineers.", author: "Great Britain.", publisher: "Murray,"),
                Self.book("b2", title: "Self help", author: "Anonymous,", publisher: "Ticknor,"),
            ]), member: "M002", name: "b.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)

        let listed = try daemon.ctl("--json", "review", "list")
        #expect(listed.status == 0, "\(listed.stderrText)")
        let items = try JSONDecoder().decode([ReviewBody].self, from: listed.stdout)
        #expect(Set(items.map(\.record)) == ["M002:b1", "M002:b2"], "\(items)")
        #expect(items.allSatisfy { $0.score < 4 && $0.score >= 2 && $0.ruleVersion == "engine-2" })
        // The dashboard counts what waits.
        #expect(try await DaemonSupport.status(daemon).reviewOpen == 2)
        #expect(try daemon.ctl("status").stdoutText.contains("review:   2 near miss(es) waiting (calisd ctl review list)"))
        let first = items.first { $0.record == "M002:b1" }!
        let second = items.first { $0.record == "M002:b2" }!
        #expect(first.master == "M001:a1")

        func union(_ member: String, _ id: String) async throws -> String? {
            try await daemon.json(SourceRecordBody.self, "/v1/members/\(member)/records/\(id)").unionID
        }
        #expect(try await union("M001", "a1") != union("M002", "b1"))
        #expect(try daemon.ctl("review", "accept", String(first.id)).status == 0)
        #expect(try await union("M001", "a1") == union("M002", "b1"))
        #expect(try daemon.ctl("review", "reject", String(second.id)).status == 0)
        #expect(try await union("M001", "a2") != union("M002", "b2"))

        let again = try daemon.ctl("review", "accept", String(first.id))
        #expect(again.status == 1 && again.stderrText.contains("accepted already"))
        #expect(try daemon.ctl("review", "accept", "999").status == 1)
        let open = try JSONDecoder().decode([ReviewBody].self, from: try daemon.ctl("--json", "review", "list").stdout)
        #expect(open.isEmpty)
        #expect(try await DaemonSupport.status(daemon).reviewOpen == 0)
        let table = try daemon.ctl("review", "list", "--state", "accepted")
        #expect(table.stdoutText.contains("M002:b1"))
    }
}
