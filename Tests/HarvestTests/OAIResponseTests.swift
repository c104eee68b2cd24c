import Foundation
import MARC
import Testing

@testable import Harvest

/// Reading OAI-PMH responses: what providers send (pyoai's layout, prefixed MARCXML, collections, deleted
/// headers, errors) and what they should not (HTML, broken XML, missing parts), each with a clear error.
@Suite("OAI-PMH responses")
struct OAIResponseTests {
    static func envelope(_ body: String, date: String = "<responseDate>2026-11-26T10:00:00Z</responseDate>") -> [UInt8] {
        Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\(date)<request verb="ListRecords">http://x/oai</request>\(body)</OAI-PMH>
            """.utf8)
    }

    static let marcRecord = """
        <record xmlns="http://www.loc.gov/MARC21/slim"><leader>00720cam a22002051  4500</leader>\
        <controlfield tag="001">   00000002 </controlfield><controlfield tag="008">800108s1899    ilu           000 0 eng  </controlfield>\
        <datafield tag="245" ind1="1" ind2="0"><subfield code="a">Botanical materia medica 植物</subfield></datafield></record>
        """

    static func read(_ bytes: [UInt8]) throws -> MARCRecord {
        let wrapped = Array("<collection xmlns=\"http://www.loc.gov/MARC21/slim\">".utf8) + bytes + Array("</collection>".utf8)
        let reader = try MARCReaders.open(bytes: wrapped).reader
        let item = try #require(try reader.next())
        #expect(!item.hasErrors, "\(item.diagnostics)")
        return try #require(item.record)
    }

    @Test("a ListRecords page: records as MARCXML the codec reads back, a deleted header, the resumption token, the response date")
    func listRecordsPage() throws {
        let page = try OAIResponse.parse(Self.envelope("""
            <ListRecords>
              <record><header><identifier>oai:test:00000002</identifier><datestamp>2026-01-01T00:00:00Z</datestamp></header>
                <metadata>\(Self.marcRecord)</metadata></record>
              <record><header status="deleted"><identifier>oai:test:00000004</identifier><datestamp>2026-02-01</datestamp></header></record>
              <resumptionToken completeListSize="50" cursor="0">metadataPrefix%3Dmarc21%26cursor%3D7</resumptionToken>
            </ListRecords>
            """))
        #expect(page.responseDate == "2026-11-26T10:00:00Z" && page.error == nil)
        #expect(page.resumptionToken == "metadataPrefix%3Dmarc21%26cursor%3D7")
        #expect(page.records.count == 2)
        let first = page.records[0]
        #expect(first.identifier == "oai:test:00000002" && !first.deleted && first.localID == "00000002")
        let record = try Self.read(try #require(first.marcXML))
        #expect(record.controlNumber == "00000002" && record.first("245")?.subfield("a") == "Botanical materia medica 植物")
        #expect(page.records[1].deleted && page.records[1].marcXML == nil && page.records[1].identifier == "oai:test:00000004")
    }

    @Test("MARCXML with a prefix declared on the envelope keeps its namespace; a collection of one is read; a record without 001 gets its OAI identifier")
    func namespacesAndControlNumbers() throws {
        let page = try OAIResponse.parse(Array("""
            <OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:marc="http://www.loc.gov/MARC21/slim">
            <responseDate>2026-11-26T10:00:00Z</responseDate><ListRecords>
            <record><header><identifier>oai:koha:17</identifier><datestamp>2026-01-01</datestamp></header><metadata>
              <marc:record><marc:leader>00000nam a2200000 a 4500</marc:leader>
              <marc:datafield tag="245" ind1="0" ind2="0"><marc:subfield code="a">No control number</marc:subfield></marc:datafield></marc:record>
            </metadata></record>
            <record><header><identifier>oai:koha:18</identifier><datestamp>2026-01-01</datestamp></header><metadata>
              <collection xmlns="http://www.loc.gov/MARC21/slim">\(Self.marcRecord)</collection></metadata></record>
            <resumptionToken/></ListRecords></OAI-PMH>
            """.utf8))
        #expect(page.resumptionToken == "")
        let bare = page.records[0]
        #expect(bare.localID == "oai:koha:17")
        let record = try Self.read(try #require(bare.marcXML))
        #expect(record.controlNumber == "oai:koha:17" && record.first("245")?.subfield("a") == "No control number")
        #expect(record.fields.map(\.tag.string) == ["001", "245"], "001 goes after the leader")
        #expect(page.records[1].localID == "00000002" && page.records[1].marcXML != nil)
    }

    @Test("metadata that is not MARCXML (oai_dc) is no record to ingest")
    func notMARC() throws {
        let page = try OAIResponse.parse(Self.envelope("""
            <ListRecords><record><header><identifier>oai:x:1</identifier><datestamp>2026-01-01</datestamp></header><metadata>
            <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title></oai_dc:dc>
            </metadata></record></ListRecords>
            """))
        #expect(page.records.count == 1 && page.records[0].marcXML == nil && !page.records[0].deleted)
    }

    @Test("OAI errors and Identify are read")
    func errorsAndIdentify() throws {
        let error = try OAIResponse.parse(Self.envelope(#"<error code="badResumptionToken">expired</error>"#))
        #expect(error.error?.code == "badResumptionToken" && error.error?.message == "expired")
        let identify = try OAIResponse.parse(Self.envelope(
            "<Identify><repositoryName>BNU</repositoryName><granularity>YYYY-MM-DD</granularity></Identify>"))
        #expect(identify.granularity == "YYYY-MM-DD" && identify.repositoryName == "BNU")
    }

    @Test("what is not an OAI-PMH response is refused with a clear reason", arguments: [
        ("<html><body>502 Bad Gateway</body></html>", "not OAI-PMH 2.0"),
        ("<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><ListRecords><record>", "not well-formed XML"),
        ("", "not well-formed XML"),
        ("<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/1.1/\"><responseDate>x</responseDate></OAI-PMH>", "not OAI-PMH 2.0"),
        ("<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><ListRecords/></OAI-PMH>", "no responseDate"),
        ("<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><responseDate>x</responseDate><ListRecords><record><metadata/></record></ListRecords></OAI-PMH>", "without a header"),
        ("<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><responseDate>x</responseDate><ListRecords><record><header><identifier/></header></record></ListRecords></OAI-PMH>", "without an identifier"),
        ("<!DOCTYPE x [<!ENTITY e SYSTEM \"http://example.org/\">]><OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">&e;</OAI-PMH>", "OAI-PMH"),
    ])
    func broken(text: String, reason: String) {
        do {
            _ = try OAIResponse.parse(Array(text.utf8))
            Issue.record("accepted: \(text)")
        } catch let error as HarvestError {
            #expect("\(error)".contains(reason), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("harvest schedule")
struct HarvestScheduleTests {
    @Test("a failed harvest's next try doubles from retry_after_seconds and never waits longer than the interval")
    func backoff() {
        let settings = HarvestSettings(stateDirectory: "/tmp", retryAfterSeconds: 60)
        #expect((1...6).map { settings.backoff(failures: $0, intervalSeconds: 86_400) } == [60, 120, 240, 480, 960, 1_920])
        #expect(settings.backoff(failures: 40, intervalSeconds: 3_600) == 3_600)
    }

    @Test("jitter spreads members set up together over up to jitter_percent of the interval")
    func jitter() {
        let settings = HarvestSettings(stateDirectory: "/tmp", jitterPercent: 10)
        let draws = (0..<794).map { _ in settings.jitter(intervalSeconds: 86_400) }
        #expect(draws.allSatisfy { (0...8_640).contains($0) })
        // 794 members land in many different minutes, not one.
        #expect(Set(draws.map { $0 / 60 }).count > 100)
        #expect(HarvestSettings(stateDirectory: "/tmp", jitterPercent: 0).jitter(intervalSeconds: 86_400) == 0)
    }
}
