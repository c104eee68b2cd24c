import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// The OAI-PMH 2.0 provider at `/oai`, harvested by Sickle (PyPI), an independent harvester: a full harvest gives
/// every union record once across resumption tokens, an incremental one only what changed since, deletions stay
/// listed as deleted; and every protocol error has its code.
@Suite("OAI-PMH provider")
struct OAIProviderTests {
    struct Harvest: Decodable {
        struct Item: Decodable {
            var identifier: String
            var datestamp: String
            var deleted: Bool
            var sets: [String]
            var control: String?
            var title: String?
        }

        var items: [Item]
        var pages: Int
    }

    static let harvester = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Oracles/oai_harvest.py").path

    static func harvest(_ base: String, _ arguments: [String] = []) async throws -> Harvest {
        let python = try #require(ProcessRunner.find("python3"), "python3 with sickle and pymarc: scripts/install-test-deps")
        let result = try await ProcessRunner.runDetached(python, [harvester, base] + arguments)
        #expect(result.status == 0, "\(result.stderrText)")
        return try JSONDecoder().decode(Harvest.self, from: result.stdout)
    }

    static func oai(_ daemon: DaemonProcess, _ query: String) async throws -> String {
        let response = try await daemon.get("/oai?" + query)
        #expect(response.status == 200, "\(response.text)")
        return response.text
    }

    static func errorCode(_ xml: String) -> String? {
        guard let range = xml.range(of: #"<error code="[A-Za-z]+""#, options: .regularExpression) else { return nil }
        return String(xml[range].dropFirst(13).dropLast())
    }

    @Test("Sickle harvests every record once across resumption tokens, then only the changes, with deletions as deleted")
    func harvestedBySickle() async throws {
        let port = TCPListenerTests.freePort()
        let daemon = try await DaemonSupport.started(
            members: ["M001", "M002"],
            config: "[ingest]\nsettle_seconds = 1\n[api]\nlisten_tcp = \"127.0.0.1:\(port)\"\n[oai]\nrecords_per_response = 7\n")
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "cjk.mrc")
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M002", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let base = "http://127.0.0.1:\(port)/oai"

        let full = try await Self.harvest(base)
        #expect(full.items.count == 70 && Set(full.items.map(\.identifier)).count == 70, "every record once: \(full.items.count)")
        #expect(full.pages == 10, "70 records in pages of 7: \(full.pages)")
        #expect(full.items.allSatisfy { !$0.deleted && $0.identifier == "oai:calisd:" + ($0.control ?? "-") }, "the 001 is the union id")
        #expect(full.items.filter { $0.sets == ["M001"] }.count == 20 && full.items.filter { $0.sets == ["M002"] }.count == 50)
        #expect(full.items.contains { $0.title?.hasPrefix("Gu shi yu min su") == true })
        for item in full.items.prefix(5) {
            let union = try await daemon.json(UnionRecordBody.self, "/v1/records/" + item.identifier.dropFirst("oai:calisd:".count))
            #expect(union.status == "active")
        }
        let identifiers = try await Self.harvest(base, ["--verb", "ListIdentifiers", "--prefix", "oai_dc", "--set", "M001"])
        #expect(identifiers.items.count == 20 && identifiers.pages == 1, "35 identifiers a page: \(identifiers.pages)")

        // A second later, M002 changes one record's title and deletes another.
        try await Task.sleep(for: .milliseconds(1_100))
        let from = Self.datestamp(Date())
        let books = try DaemonSupport.locBooks()
        let changed = books[0].controlNumber!
        let deleted = books[1].controlNumber!
        let deletedUnion = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/\(deleted)").unionID)
        try daemon.drop(
            try DaemonSupport.iso([DaemonSupport.rewriteTitle(books[0], "A title changed since")]), member: "M002", name: "change.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        try daemon.drop(Array("\(deleted)\n".utf8), member: "M002", name: "gone.delete.txt")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 3)
        let changedUnion = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/\(changed)").unionID)

        let incremental = try await Self.harvest(base, ["--from", from])
        #expect(incremental.items.count == 2, "only what changed since \(from): \(incremental.items.map(\.identifier))")
        let update = try #require(incremental.items.first { $0.identifier == "oai:calisd:\(changedUnion)" })
        #expect(!update.deleted && update.title == "A title changed since" && update.datestamp >= from)
        let removal = try #require(incremental.items.first { $0.identifier == "oai:calisd:\(deletedUnion)" })
        #expect(removal.deleted && removal.control == nil && removal.sets.isEmpty)

        // Deleted records stay (deletedRecord persistent): a full harvest lists 70, one of them deleted.
        let again = try await Self.harvest(base)
        #expect(again.items.count == 70 && again.items.filter(\.deleted).map(\.identifier) == ["oai:calisd:\(deletedUnion)"])
        let record = try await Self.oai(daemon, "verb=GetRecord&metadataPrefix=marc21&identifier=oai:calisd:\(deletedUnion)")
        #expect(record.contains("<header status=\"deleted\">") && !record.contains("<metadata>"), "\(record)")
        // Nothing changed since: noRecordsMatch, which Sickle reads as an empty list.
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(try await Self.harvest(base, ["--from", Self.datestamp(Date())]).items.isEmpty)
    }

    static func datestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    @Test("Identify, ListMetadataFormats, ListSets and GetRecord in marc21 and oai_dc; POST as GET")
    func verbs() async throws {
        let daemon = try await DaemonSupport.started(
            members: ["M001"],
            config: "[ingest]\nsettle_seconds = 1\n[api]\npublic_url = \"https://union.example.edu\"\n[oai]\nrepository_identifier = \"union.example.edu\"\nadmin_email = \"cat@example.edu\"\n")
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "cjk.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let identify = try await Self.oai(daemon, "verb=Identify")
        for expected in [
            "<baseURL>https://union.example.edu/oai</baseURL>", "<protocolVersion>2.0</protocolVersion>", "<adminEmail>cat@example.edu</adminEmail>",
            "<deletedRecord>persistent</deletedRecord>", "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>",
            "<repositoryIdentifier>union.example.edu</repositoryIdentifier>", #"<request verb="Identify">https://union.example.edu/oai</request>"#,
        ] {
            #expect(identify.contains(expected), "\(expected) in \(identify)")
        }
        let formats = try await Self.oai(daemon, "verb=ListMetadataFormats&identifier=oai:union.example.edu:CAL000000001")
        #expect(formats.contains("<metadataPrefix>marc21</metadataPrefix>") && formats.contains("<metadataPrefix>oai_dc</metadataPrefix>"))
        let sets = try await Self.oai(daemon, "verb=ListSets")
        #expect(sets.contains("<setSpec>M001</setSpec>") && sets.contains("<setName>Library M001</setName>"))
        let id = "oai:union.example.edu:CAL000000013"
        let marc = try await Self.oai(daemon, "verb=GetRecord&metadataPrefix=marc21&identifier=\(id)")
        #expect(marc.contains("<record xmlns=\"http://www.loc.gov/MARC21/slim\">") && marc.contains("<setSpec>M001</setSpec>"))
        let dc = try await Self.oai(daemon, "verb=GetRecord&metadataPrefix=oai_dc&identifier=\(id)")
        #expect(dc.contains("<oai_dc:dc ") && dc.contains("<dc:title>"), "\(dc)")
        let post = try TCPListenerTests.curl([
            "--unix-socket", daemon.socketPath, "--data", "verb=GetRecord&metadataPrefix=oai_dc&identifier=\(id)", "http://calisd/oai",
        ])
        #expect(post.status == 200 && post.body.contains("<dc:title>"), "\(post)")
    }

    @Test("every protocol error has its OAI-PMH code; badVerb and badArgument do not echo the arguments")
    func errors() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "cjk.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let cases: [(String, String)] = [
            ("", "badVerb"),
            ("verb=Frobnicate", "badVerb"),
            ("verb=Identify&verb=Identify", "badVerb"),
            ("verb=ListRecords", "badArgument"),
            ("verb=Identify&metadataPrefix=marc21", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&metadataPrefix=oai_dc", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&from=yesterday", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&from=2026-02-30", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&from=2020-01-01&until=2021-01-01T00:00:00Z", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&from=2021-01-02&until=2021-01-01", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&set=NOBODY", "badArgument"),
            ("verb=ListRecords&metadataPrefix=marc21&resumptionToken=abc", "badArgument"),
            ("verb=GetRecord&identifier=oai:calisd:CAL000000001", "badArgument"),
            ("verb=ListRecords&metadataPrefix=mods", "cannotDisseminateFormat"),
            ("verb=GetRecord&metadataPrefix=mods&identifier=oai:calisd:CAL000000001", "cannotDisseminateFormat"),
            ("verb=GetRecord&metadataPrefix=marc21&identifier=oai:calisd:CAL999999999", "idDoesNotExist"),
            ("verb=GetRecord&metadataPrefix=marc21&identifier=oai:elsewhere:CAL000000001", "idDoesNotExist"),
            ("verb=ListMetadataFormats&identifier=nonsense", "idDoesNotExist"),
            ("verb=ListRecords&resumptionToken=forged", "badResumptionToken"),
            ("verb=ListSets&resumptionToken=x", "badResumptionToken"),
            ("verb=ListRecords&metadataPrefix=marc21&from=2999-01-01", "noRecordsMatch"),
            ("verb=ListIdentifiers&metadataPrefix=marc21&until=2000-01-01", "noRecordsMatch"),
        ]
        for (query, code) in cases {
            let xml = try await Self.oai(daemon, query)
            #expect(Self.errorCode(xml) == code, "\(query): \(xml)")
            if code == "badVerb" || code == "badArgument" {
                #expect(xml.contains("<request>http://localhost/oai</request>"), "\(query): \(xml)")
            }
        }
        let empty = try await DaemonSupport.started(members: [])
        defer { empty.remove() }
        #expect(Self.errorCode(try await Self.oai(empty, "verb=ListSets")) == "noSetHierarchy")
        #expect(Self.errorCode(try await Self.oai(empty, "verb=ListRecords&metadataPrefix=marc21")) == "noRecordsMatch")
        let wrongType = try TCPListenerTests.curl(["--unix-socket", daemon.socketPath, "-H", "Content-Type: text/plain", "--data", "verb=Identify", "http://calisd/oai"])
        #expect(Self.errorCode(wrongType.body) == "badArgument", "\(wrongType)")
        let put = try TCPListenerTests.curl(["--unix-socket", daemon.socketPath, "-X", "PUT", "http://calisd/oai?verb=Identify"])
        #expect(put.status == 405)
    }
}
