import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// `calisd ctl why` against a running daemon: the engine's evidence for a pair, from the stored keys.
@Suite("calisd ctl why")
struct WhyTests {
    @Test("why explains a merged pair and a separate one field by field; unknown and malformed records fail clearly")
    func why() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        try daemon.drop(try DaemonSupport.iso(books), member: "M001", name: "books.mrc")
        try daemon.drop(try DaemonSupport.iso(books), member: "M002", name: "books.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let first = books[0].controlNumber!.trimmingCharacters(in: .whitespaces)
        let second = books[1].controlNumber!.trimmingCharacters(in: .whitespaces)

        let same = try daemon.ctl("why", "M001:\(first)", "M002:\(first)")
        #expect(same.status == 0, "\(same.stderrText)")
        #expect(same.stdoutText.contains("in the same union record") && same.stdoutText.contains(": match (score"))
        #expect(same.stdoutText.contains("title") && same.stdoutText.contains("agree"))
        // The decisions as stored when each record was placed: M001's started the union record, M002's joined it.
        #expect(same.stdoutText.contains("stored: M001:\(first) started its union record"), "\(same.stdoutText)")
        #expect(same.stdoutText.contains("stored: M002:\(first) joined"))
        let stored = try JSONDecoder().decode(WhyBody.self, from: try daemon.ctl("why", "--json", "M001:\(first)", "M002:\(first)").stdout)
        let joined = try #require(stored.b.placement)
        #expect(joined.decision == "matched" && joined.comparedWith == "M001:\(first)" && joined.ruleVersion == "engine-2")
        #expect((joined.score ?? 0) >= 4 && joined.findings?.contains { $0.field == "title" && $0.verdict == "agree" } == true)
        #expect(stored.a.placement?.decision == "new" && stored.a.placement?.candidates == 0)

        let json = try daemon.ctl("records", "why", "--json", "M001:\(first)", "M001:\(second)")
        #expect(json.status == 0, "\(json.stderrText)")
        let body = try JSONDecoder().decode(WhyBody.self, from: json.stdout)
        #expect(body.decision == "no-match" && !body.sameUnion && body.ruleVersion == "engine-2")
        #expect(body.findings.contains { $0.verdict == "conflict" || ($0.field == "title" && $0.verdict == "differ") })

        // A union id stands for its master, with the master's stored decision (the union's own read leaves it out).
        let union = try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(first)").unionID!
        let viaUnion = try JSONDecoder().decode(WhyBody.self, from: try daemon.ctl("why", "--json", union, "M002:\(first)").stdout)
        #expect(viaUnion.sameUnion)
        let masterStored = viaUnion.a.member == "M001" ? stored.a : stored.b
        #expect(viaUnion.a.placement != nil && viaUnion.a.placement == masterStored.placement, "\(viaUnion.a)")

        let unknown = try daemon.ctl("why", "M001:nope", "M002:\(first)")
        #expect(unknown.status == 1 && unknown.stderrText.contains("has no record nope"))
        let malformed = try daemon.ctl("why", "justtext", "M002:\(first)")
        #expect(malformed.status == 1 && malformed.stderrText.contains("MEMBER:LOCALID"))
    }
}
