import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// Holdings read from real members' records through the running daemon: holdings records (MFHD) by 004 or
/// 001, in either order and other files; 852s of several institutions from a centre and from a plain member;
/// CNMARC 905; a member's holdings paged.
@Suite("holdings")
struct HoldingsTests {
    static func union(_ daemon: DaemonProcess, _ member: String, _ id: String) async throws -> String {
        try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/\(member)/records/\(id)").unionID)
    }

    static func holdings(_ daemon: DaemonProcess, _ union: String) async throws -> [HoldingBody] {
        try await daemon.json(HoldingsPageBody.self, "/v1/records/\(union)/holdings").holdings
    }

    @Test("SIRSI MFHDs (001 = the bib's id) that arrive before their bibs attach to them; 852 location and 866 summaries shown")
    func holdingsRecordsBeforeTheirBibs() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("stanford-summaryHld-49.mrc"), member: "M001", name: "mfhd.mrc")
        let first = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        #expect(first.first?.state == "done" && first.first?.counts.rejected == 0, "\(first)")
        #expect(first.first?.counts.read == 49)
        // The bibs come later, in another file.
        let books = try DaemonSupport.locBooks()
        let bibs = [DaemonSupport.rewrite(books[0], controlNumber: "u27"), DaemonSupport.rewrite(books[1], controlNumber: "u46")]
        try daemon.drop(try DaemonSupport.iso(bibs), member: "M001", name: "bibs.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)

        let u27 = try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u27"))
        #expect(u27.count == 1)
        #expect(u27.first?.holder == "M001" && u27.first?.location == "ALDERMAN / ALD-STKS" && u27.first?.source.kind == "mfhd")
        #expect(u27.first?.summary == "t.1-3  (1979-1983); t.4  (1985); t.5-6  (1988)", "\(u27)")
        // Two holdings records under one id: both kept, as two locations.
        let u46 = try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u46"))
        #expect(Set(u46.compactMap(\.location)) == ["ALDERMAN / ALD-STKS", "CLEMONS / CLEM-STKS"], "\(u46)")
        #expect(Set(u46.compactMap(\.summary)) == ["v.1-3", "v.1"])
        // The union record's JSON carries them too.
        let record = try await daemon.json(UnionRecordBody.self, "/v1/records/\(try await Self.union(daemon, "M001", "u46"))")
        #expect(record.holdings.count == 2)

        // The same holdings file again: the same holdings, not twice as many.
        try daemon.drop(try DaemonSupport.fixture("stanford-summaryHld-49.mrc"), member: "M001", name: "mfhd-again.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3)
        #expect(try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u46")).count == 2)
    }

    @Test("MFHDs linked by 004 in one stream with their bibs; a bib without holdings fields is held by its member")
    func holdingsRecordsLinkedBy004() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let books = try DaemonSupport.locBooks()
        // FOLIO's four MFHDs name bibs 7611780 (one) and 18006871 (three).
        let mfhds = try MARCReaders.open(bytes: try DaemonSupport.fixture("folio-mfhd-004.mrc")).reader
        var stream: [UInt8] = []
        stream += try ISO2709Writer.data(DaemonSupport.rewrite(books[0], controlNumber: "18006871"))
        while let item = try mfhds.next() { stream += try ISO2709Writer.data(try #require(item.record)) }
        stream += try ISO2709Writer.data(DaemonSupport.rewrite(books[1], controlNumber: "7611780"))
        stream += try ISO2709Writer.data(DaemonSupport.rewrite(books[2], controlNumber: "plain"))
        try daemon.drop(stream, member: "M001", name: "mixed.mrc")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        #expect(files.first?.counts.rejected == 0 && files.first?.counts.added == 7, "\(files)")

        let three = try await Self.holdings(daemon, try await Self.union(daemon, "M001", "18006871"))
        #expect(Set(three.compactMap(\.location)) == ["infoOff", "cd", "maps"], "\(three)")
        #expect(Set(three.compactMap(\.callNumber)) == ["QB611 .C44"] && three.allSatisfy { $0.source.kind == "mfhd" })
        let one = try await Self.holdings(daemon, try await Self.union(daemon, "M001", "7611780"))
        #expect(one.map(\.location) == ["jnlDesk"])
        let plain = try await Self.holdings(daemon, try await Self.union(daemon, "M001", "plain"))
        #expect(plain.count == 1 && plain.first?.holder == "M001" && plain.first?.source.kind == "record" && plain.first?.location == nil)

        // A member's holdings, paged with an opaque cursor: every holding once.
        var seen: [HoldingBody] = []
        var target = "/v1/members/M001/holdings?limit=2"
        while true {
            let page = try await daemon.json(HoldingsPageBody.self, target)
            seen += page.holdings
            guard let next = page.next else { break }
            target = "/v1/members/M001/holdings?limit=2&cursor=\(next)"
        }
        #expect(seen.count == 5, "\(seen)")
        #expect(Set(seen.map { "\($0.source.kind):\($0.source.localID):\($0.location ?? "")" }).count == 5)
        #expect(try await daemon.get("/v1/members/M001/holdings?cursor=garbage").status == 400)
        #expect(try await daemon.get("/v1/members/NOPE/holdings").status == 404)
        #expect(try await daemon.get("/v1/records/CAL999999999/holdings").status == 404)

        // A holdings record that names no bib is refused, with the reason in the report.
        var orphan = MARCRecord(leader: Leader("00000nx  a22000001n 4500"))
        orphan.appendDataField("852", subfields: [(UInt8(ascii: "b"), "main")])
        try daemon.drop(try ISO2709Writer.data(orphan), member: "M001", name: "orphan.mrc")
        let after = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        let report = try daemon.report(member: "M001", name: "orphan.mrc")
        #expect(after.contains { $0.name == "orphan.mrc" && $0.counts.rejected == 1 })
        #expect("\(report)".contains("names no bibliographic record"), "\(report)")
    }

    @Test("852s of several institutions go to them when a centre may submit for them; a plain member's are reported and ignored")
    func centreSubmitsForItsMembers() async throws {
        let daemon = try await DaemonSupport.started(members: ["CENTRE", "PLAIN", "41SLSP_UZB", "41SLSP_ETH"])
        defer { daemon.remove() }
        let set = try daemon.ctl("members", "set", "CENTRE", "--may-submit-for", "41SLSP_UZB,41SLSP_ETH")
        #expect(set.status == 0 && set.stdoutText.contains("may submit for 41SLSP_UZB,41SLSP_ETH"), "\(set.stderrText)")
        let slsp = try DaemonSupport.fixture("slsp-852-three-institutions.xml")
        try daemon.drop(slsp, member: "CENTRE", name: "network.xml")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "CENTRE", count: 1)
        let id = "991086925379705501"
        let centre = try await Self.holdings(daemon, try await Self.union(daemon, "CENTRE", id))
        #expect(Set(centre.map(\.holder)) == ["41SLSP_UZB", "41SLSP_ETH"], "\(centre)")
        // BCUFR is no member: reported, not kept.
        #expect("\(try daemon.report(member: "CENTRE", name: "network.xml"))".contains("41SLSP_BCUFR"))

        try daemon.drop(slsp, member: "PLAIN", name: "network.xml")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "PLAIN", count: 1)
        let report = "\(try daemon.report(member: "PLAIN", name: "network.xml"))"
        #expect(report.contains("naming institution 41SLSP_UZB, member 41SLSP_UZB") && report.contains("PLAIN may not submit for it"), "\(report)")
        let uzb = try await daemon.json(HoldingsPageBody.self, "/v1/members/41SLSP_UZB/holdings")
        #expect(uzb.holdings.count == 1 && uzb.holdings.first?.source.member == "CENTRE")
        // PLAIN's own copy is still PLAIN's: held by it, with no details.
        let plain = try await daemon.json(HoldingsPageBody.self, "/v1/members/PLAIN/holdings")
        #expect(plain.holdings.map(\.source.kind) == ["record"])

        // Bad settings are refused clearly.
        let unknown = try daemon.ctl("members", "set", "CENTRE", "--may-submit-for", "NOBODY")
        #expect(unknown.status == 1 && unknown.stderrText.contains("no member NOBODY"), "\(unknown.stderrText)")
        let itself = try daemon.ctl("members", "set", "CENTRE", "--may-submit-for", "CENTRE")
        #expect(itself.status == 1 && itself.stderrText.contains("does not submit for itself"))
        let malformed = try daemon.ctl("members", "set", "CENTRE", "--may-submit-for", "a b")
        #expect(malformed.status == 64)
    }

    @Test("CNMARC 905 holdings of the BNU records: the institution by its code, call numbers as shelved")
    func cnmarc905() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        // The member's own institution code is BNU.
        #expect(try daemon.ctl("members", "set", "M001", "--institution-codes", "BNU").status == 0)
        try daemon.drop(try DaemonSupport.fixture("dp2-bnu-cnmarc-10.utf8.iso"), member: "M001", name: "bnu.iso")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        #expect(files.first?.counts.added == 10)
        var all: [HoldingBody] = []
        var target = "/v1/members/M001/holdings?limit=100"
        while true {
            let page = try await daemon.json(HoldingsPageBody.self, target)
            all += page.holdings
            guard let next = page.next else { break }
            target = "/v1/members/M001/holdings?limit=100&cursor=\(next)"
        }
        let fromFields = all.filter { $0.source.kind == "bib" }
        #expect(fromFields.count == 9, "\(all.map(\.source.kind))")
        #expect(fromFields.contains { $0.source.bibLocalID == "990002180740203961" && $0.callNumber == "F124/26" })
        #expect(all.count == 10)
    }

    /// The Stanford MFHDs and two bibs they belong to (u27, u46), ingested for M001 in two files.
    static func stanfordHoldings(_ daemon: DaemonProcess) async throws -> [MARCRecord] {
        try daemon.drop(try DaemonSupport.fixture("stanford-summaryHld-49.mrc"), member: "M001", name: "mfhd.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let books = try DaemonSupport.locBooks()
        let bibs = [DaemonSupport.rewrite(books[0], controlNumber: "u27"), DaemonSupport.rewrite(books[1], controlNumber: "u46")]
        try daemon.drop(try DaemonSupport.iso(bibs), member: "M001", name: "bibs.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        return bibs
    }

    @Test("a holding not confirmed within stale_after_days shows as stale; sending it again, unchanged, confirms it")
    func staleHoldings() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let bibs = try await Self.stanfordHoldings(daemon)
        let u46 = try await Self.union(daemon, "M001", "u46")
        #expect(try await Self.holdings(daemon, u46).allSatisfy { !$0.stale })
        // A year passes for these holdings (the clock is the database's: set their confirmation back).
        let aged = try ProcessRunner.run("sqlite3", [
            daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", "UPDATE holdings SET confirmed_at = 0, received_at = 0",
        ])
        #expect(aged.status == 0, "\(aged.stderrText)")
        #expect(try await Self.holdings(daemon, u46).allSatisfy(\.stale))
        // The member sends its holdings records again: confirmed, no longer stale, still two.
        try daemon.drop(try DaemonSupport.fixture("stanford-summaryHld-49.mrc"), member: "M001", name: "again.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3)
        let confirmed = try await Self.holdings(daemon, u46)
        #expect(confirmed.count == 2 && confirmed.allSatisfy { !$0.stale }, "\(confirmed)")
        _ = bibs
    }

    @Test("a full snapshot without most of the member's holdings records is held; approved, it withdraws their holdings")
    func fullSnapshotWithdrawsHoldings() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let bibs = try await Self.stanfordHoldings(daemon)
        #expect(try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u27")).first?.source.kind == "mfhd")
        // The snapshot: both bibs, and only u46's two holdings records.
        var snapshot = try DaemonSupport.iso(bibs)
        let reader = try MARCReaders.open(bytes: try DaemonSupport.fixture("stanford-summaryHld-49.mrc")).reader
        while let item = try reader.next() {
            if let record = item.record, record.controlNumber == "u46" { snapshot += try ISO2709Writer.data(record) }
        }
        try daemon.drop(snapshot, member: "M001", name: "all.full.mrc")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 3)
        let held = try #require(files.first { $0.name == "all.full.mrc" })
        #expect(held.state == "held" && held.reason?.contains("holdings records") == true, "\(held)")
        // Nothing withdrawn while it waits.
        #expect(try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u27")).first?.source.kind == "mfhd")

        #expect(try daemon.ctl("files", "approve", String(held.id)).status == 0)
        try await waitUntil("the approved snapshot is done") {
            try await daemon.json(FileBody.self, "/v1/files/\(held.id)").state == "done"
        }
        // u27's holdings record was not in the snapshot: its holdings are gone; the bib is still held by M001.
        let u27 = try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u27"))
        #expect(u27.map(\.source.kind) == ["record"], "\(u27)")
        #expect(try await Self.holdings(daemon, try await Self.union(daemon, "M001", "u46")).count == 2)
    }

    @Test("ISO 20775 holdings XML (BNU's, in an SRU response) hangs on the bibs it names; broken XML fails the file clearly")
    func iso20775() async throws {
        let daemon = try await DaemonSupport.started(members: ["BNU"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("dp2-bnu-isohold.xml"), member: "BNU", name: "isohold.xml")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 1)
        #expect(files.first?.state == "done" && files.first?.counts.added == 9 && files.first?.counts.rejected == 0, "\(files)")
        // The bibs come after their holdings.
        try daemon.drop(try DaemonSupport.fixture("dp2-bnu-cnmarc-10.utf8.iso"), member: "BNU", name: "bibs.iso")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 2)
        let first = try await Self.holdings(daemon, try await Self.union(daemon, "BNU", "990002180740203961"))
        let xml = first.filter { $0.source.localID.hasPrefix("iso20775:") }
        #expect(xml.count == 2, "\(first)")
        #expect(xml.allSatisfy { $0.callNumber == "F124 26" && $0.location?.hasPrefix("总馆普通文献") == true }, "\(xml)")
        #expect(xml.compactMap(\.items).reduce(0, +) >= 2)
        // The record's own 905 is there too: two exports of one library's holdings, each with its provenance.
        #expect(first.contains { $0.source.kind == "bib" && $0.callNumber == "F124/26" })

        var broken = try DaemonSupport.fixture("dp2-bnu-isohold.xml")
        broken.removeLast(broken.count / 2)
        try daemon.drop(broken, member: "BNU", name: "cut.xml")
        let after = try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 3)
        let cut = try #require(after.first { $0.name == "cut.xml" })
        #expect(cut.state == "failed" && cut.reason?.contains("ISO 20775 holdings XML") == true, "\(cut)")
    }

    @Test("ISO 20775 sent again unchanged is only confirmed; a full snapshot of it withdraws the ISO 20775 holdings it leaves out, behind the guard, and nothing else")
    func iso20775Snapshot() async throws {
        let daemon = try await DaemonSupport.started(members: ["BNU"])
        defer { daemon.remove() }
        let original = try DaemonSupport.fixture("dp2-bnu-isohold.xml")
        try daemon.drop(try DaemonSupport.fixture("dp2-bnu-cnmarc-10.utf8.iso"), member: "BNU", name: "bibs.iso")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 1)
        try daemon.drop(original, member: "BNU", name: "isohold.xml")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 2)

        // The same holdings again (not the same bytes): confirmed, nothing logged as changed.
        try daemon.drop(original + Array("\n".utf8), member: "BNU", name: "again.xml")
        let again = try #require(try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 3).first { $0.name == "again.xml" })
        #expect(again.counts.unchanged == 9 && again.counts.changed == 0 && again.counts.added == 0, "\(again.counts)")
        let feed = String(decoding: try await daemon.get("/v1/changes?since=0&limit=1000").body, as: UTF8.self)
        #expect(!feed.contains("holdings-changed"), "\(feed)")

        // A full snapshot without the first <holdings> (bib 990002180740203961): 1 of 9 is above the 10 % guard.
        let text = String(decoding: original, as: UTF8.self)
        let start = try #require(text.range(of: "<holdings xmlns"))
        let end = try #require(text.range(of: "</holdings>", range: start.upperBound..<text.endIndex))
        let snapshot = Array(text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "").utf8)
        try daemon.drop(snapshot, member: "BNU", name: "isohold.full.xml")
        let files = try await DaemonSupport.waitForFinished(daemon, member: "BNU", count: 4)
        let held = try #require(files.first { $0.name == "isohold.full.xml" })
        #expect(held.state == "held" && held.reason?.contains("1 of the member's 9 ISO 20775 holdings records") == true, "\(held)")
        let union = try await Self.union(daemon, "BNU", "990002180740203961")
        #expect(try await Self.holdings(daemon, union).contains { $0.source.localID.hasPrefix("iso20775:") })

        #expect(try daemon.ctl("files", "approve", String(held.id)).status == 0)
        try await waitUntil("the approved snapshot is done") {
            try await daemon.json(FileBody.self, "/v1/files/\(held.id)").state == "done"
        }
        let after = try await Self.holdings(daemon, union)
        #expect(!after.contains { $0.source.localID.hasPrefix("iso20775:") }, "\(after)")
        // The record's own 905 holdings and every record stay: the snapshot was of ISO 20775 holdings only.
        #expect(after.contains { $0.source.kind == "bib" }, "\(after)")
        #expect(try await daemon.json(MemberBody.self, "/v1/members/BNU").records == 10)
    }
}
