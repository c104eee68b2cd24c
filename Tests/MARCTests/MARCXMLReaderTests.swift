import Foundation
import CalisdTesting
import Testing

@testable import MARC

@Suite("MARCXML reader")
struct MARCXMLReaderTests {
    private func items(_ xml: String) throws -> [MARCReadItem] {
        try readItems(bytes: Array(xml.utf8))
    }

    private let recordBody = """
        <leader>00000nam a2200000 a 4500</leader>
        <controlfield tag="001">  rec-1 </controlfield>
        <datafield tag="245" ind1="1" ind2="0"><subfield code="a">Title &amp; more</subfield><subfield code="b">sub</subfield></datafield>
        """

    @Test("the MARC21 slim namespace, a prefixed namespace and no namespace read the same")
    func namespaces() throws {
        let plain = try items("<collection><record>\(recordBody)</record></collection>")
        let slim = try items("<collection xmlns=\"http://www.loc.gov/MARC21/slim\"><record>\(recordBody)</record></collection>")
        let prefixed = try items(
            "<marc:collection xmlns:marc=\"http://www.loc.gov/MARC21/slim\"><marc:record>"
                + recordBody.replacingOccurrences(of: "<", with: "<marc:").replacingOccurrences(of: "<marc:/", with: "</marc:")
                + "</marc:record></marc:collection>")
        for result in [plain, slim, prefixed] {
            try #require(result.count == 1)
            let record = try #require(result[0].record)
            #expect(result[0].diagnostics.isEmpty)
            #expect(record.controlNumber == "rec-1")
            #expect(record.first("001")?.value == "  rec-1 ")
            #expect(record.first("245")?.subfield("a") == "Title & more")
            #expect(record.first("245")?.indicator1 == UInt8(ascii: "1"))
        }
        #expect(plain[0].record == slim[0].record)
        #expect(plain[0].record == prefixed[0].record)
    }

    @Test("a bare record, with a BOM, is read")
    func bareRecordWithBOM() throws {
        let result = try readItems(bytes: [0xEF, 0xBB, 0xBF] + Array("<record>\(recordBody)</record>".utf8))
        try #require(result.count == 1)
        #expect(result[0].record?.controlNumber == "rec-1")
    }

    @Test("records back to back with no collection are all read, as yaz does")
    func concatenatedRecords() throws {
        let result = try readItems(path: Fixture.path("evergreen-serials-concatenated.xml"))
        try #require(result.count == 7)
        #expect(result.allSatisfy { $0.diagnostics.isEmpty && $0.record != nil })
        #expect(result.first?.record?.controlNumber == "21061")
    }

    @Test("MARC records inside an SRU response, with a BOM, are read; the SRU wrapper is not a record")
    func sruWrappedCNMARC() throws {
        let result = try readItems(path: Fixture.path("dp2-bnu-cnmarc-sru.xml"))
        try #require(result.count == 10)
        let records = result.compactMap(\.record)
        #expect(records.count == 10)
        #expect(records.allSatisfy { $0.flavour == .cnmarc })
        #expect(records.contains { $0.first("200")?.subfield("a")?.unicodeScalars.contains { $0.properties.isIdeographic } == true })
    }

    @Test("a document cut short is an error on the record it cut, after the complete ones")
    func truncatedDocument() throws {
        let whole = "<collection><record>\(recordBody)</record><record>\(recordBody)</record></collection>"
        let cut = String(whole.prefix(whole.count - 40))
        let result = try items(cut)
        try #require(result.count == 2)
        #expect(result[0].diagnostics.isEmpty)
        #expect(result[1].hasErrors)
        #expect(result[1].diagnostics.contains { $0.code == .truncated && $0.severity == .error })
    }

    @Test("a record cut inside a subfield keeps its field's complete subfields; a control field cut off is dropped")
    func cutInsideFields() throws {
        let head = "<collection><record><leader>00000nam a2200000 a 4500</leader><controlfield tag=\"001\">r1</controlfield>"
        let inSubfield = try items(
            head + "<datafield tag=\"245\" ind1=\"1\" ind2=\"0\"><subfield code=\"a\">Whole</subfield><subfield code=\"b\">Cut sho")
        let record = try #require(inSubfield.first?.record)
        #expect(record.first("001")?.value == "r1")
        #expect(record.first("245")?.subfields("a") == ["Whole"])
        #expect(record.first("245")?.subfields("b") == [])
        #expect(inSubfield[0].diagnostics.contains { $0.code == .truncated })
        let inControlField = try items(head + "<controlfield tag=\"005\">2024")
        let cut = try #require(inControlField.first?.record)
        #expect(cut.fields.map(\.tag.string) == ["001"])
        #expect(cut.storage == Array("r1".utf8))
    }

    @Test("XML broken inside the second of three records: the first is kept, the error is reported")
    func brokenSecondRecord() throws {
        let result = try readItems(path: Fixture.path("ruby-marc-three-records-second-bad.xml"))
        #expect(result.first?.diagnostics.isEmpty == true)
        #expect(result.first?.record != nil)
        #expect(result.contains { $0.hasErrors })
    }

    @Test("something that is not XML at all is an error, not an empty success")
    func notXML() throws {
        let result = try items("<collection><record><leader>")
        try #require(result.count == 1)
        #expect(result[0].hasErrors)
    }

    @Test("danMARC2's subfield code å is kept as one character")
    func nonASCIISubfieldCode() throws {
        let result = try readItems(path: Fixture.path("yaz-marc2-danmarc.xml"))
        let record = try #require(result.first?.record)
        #expect(result[0].diagnostics.isEmpty)
        let field = try #require(record.first("795"))
        let first = try #require(Array(field.subfields).first)
        #expect(first.codeString == "å")
        #expect(first.value == "11")
    }

    @Test("fields without tags and subfields without codes are errors that name the loss")
    func missingTagsAndCodes() throws {
        let result = try items(
            """
            <record><leader>00000nam a2200000 a 4500</leader><controlfield>x</controlfield>
            <datafield tag="245" ind1="0" ind2="0"><subfield>no code</subfield><subfield code="a">kept</subfield></datafield>
            </record>
            """)
        let item = try #require(result.first)
        #expect(item.diagnostics.filter { $0.severity == .error }.count == 2)
        #expect(item.record?.first("245")?.subfields("a") == ["kept"])
    }

    @Test("a file over 10 MB streams through", .timeLimit(.minutes(2)))
    func largeDocument() throws {
        var xml = "<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n"
        let record = "<record>\(recordBody)</record>\n"
        let copies = 12_000_000 / record.utf8.count + 1
        xml.reserveCapacity(copies * record.utf8.count + 100)
        for _ in 0..<copies { xml += record }
        xml += "</collection>\n"
        #expect(xml.utf8.count > 10_000_000)
        let opened = try MARCReaders.open(bytes: Array(xml.utf8))
        #expect(opened.format == .marcxml)
        var count = 0
        while let item = try opened.reader.next() {
            #expect(item.diagnostics.isEmpty)
            count += 1
        }
        #expect(count == copies)
    }

    @Test(
        "real LoC records as yaz writes them in MARCXML read as their ISO 2709 originals, across the parser's chunks",
        .enabled(if: ExternalTool.find("yaz-marcdump") != nil || ExternalTool.required, "needs yaz-marcdump"))
    func yazMARCXMLAcrossChunks() throws {
        var originals: [PlainRecord] = []
        var body = ""
        for name in ["loc-books-50.mrc", "loc-cjk-20.mrc"] {
            let path = Fixture.path(name)
            originals += try readItems(path: path).compactMap(\.record).map(PlainRecord.init)
            let yaz = try ExternalTool.run("yaz-marcdump", ["-i", "marc", "-o", "marcxml", path])
            try #require(yaz.status == 0)
            body += yaz.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("<collection") && !$0.hasPrefix("</collection") }.joined(separator: "\n")
        }
        // Enough copies that records straddle the reader's chunks, wherever they fall.
        let copies = 2 * MARCXMLReader.chunkSize / body.utf8.count + 3
        let xml = "<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n" + String(repeating: body, count: copies) + "</collection>\n"
        let result = try items(xml)
        #expect(result.count == originals.count * copies)
        #expect(result.allSatisfy { $0.diagnostics.isEmpty })
        let mismatched = result.enumerated().filter { index, item in
            item.record.map(PlainRecord.init) != originals[index % originals.count]
        }
        #expect(mismatched.isEmpty, "first differing record: \(mismatched.first.map { "\($0.offset)" } ?? "")")
    }

    @Test("an entity the document declares is an error on its record, and a file it names is never read")
    func declaredEntitiesAreRefused() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-entity-\(getpid()).txt")
        try Data("SECRET-CONTENT".utf8).write(to: secret)
        defer { try? FileManager.default.removeItem(at: secret) }
        let result = try items(
            """
            <?xml version="1.0"?>
            <!DOCTYPE collection [<!ENTITY secret SYSTEM "\(secret.absoluteString)"><!ENTITY press "Oxford">]>
            <collection><record>\(recordBody)</record>
            <record><leader>00000nam a2200000 a 4500</leader><datafield tag="260" ind1=" " ind2=" "><subfield code="b">&press; &secret;</subfield></datafield></record>
            <record>\(recordBody)</record></collection>
            """)
        try #require(result.count == 2)
        #expect(result[0].diagnostics.isEmpty)
        #expect(result[0].record?.first("245")?.subfields("a") == ["Title & more"])
        #expect(result[1].diagnostics.contains { $0.severity == .error && $0.message.contains("press") })
        let text = result.compactMap(\.record).flatMap(\.fields).flatMap { $0.subfields.map(\.value) }.joined()
        #expect(!text.contains("SECRET") && !text.contains("Oxford"))
    }

    @Test("forEach stops the parse at the first error its body throws and rethrows it; after next(), it goes on from there")
    func forEachStopsAndResumes() throws {
        struct Stop: Error {}
        let xml = Array(("<collection>" + String(repeating: "<record>\(recordBody)</record>\n", count: 5) + "</collection>").utf8)
        var seen: [Int] = []
        #expect(throws: Stop.self) {
            try MARCReaders.open(bytes: xml).reader.forEach { item in
                seen.append(item.recordNumber)
                if item.recordNumber == 2 { throw Stop() }
            }
        }
        #expect(seen == [1, 2])
        let stopped = try MARCReaders.open(bytes: xml).reader
        #expect(throws: Stop.self) { try stopped.forEach { _ in throw Stop() } }
        #expect(try stopped.next() == nil)

        let reader = try MARCReaders.open(bytes: xml).reader
        #expect(try reader.next()?.recordNumber == 1)
        var rest: [Int] = []
        try reader.forEach { rest.append($0.recordNumber) }
        #expect(rest == [2, 3, 4, 5])
        #expect(try reader.next() == nil)
    }

    @Test("a MARC21 record in XML with a blank leader/09 is Unicode all the same: a warning, and leader/09 'a'")
    func blankLeaderInUnicodeDocument() throws {
        let result = try items(
            """
            <record><leader>00000nam  2200000 a 4500</leader><controlfield tag="001">x</controlfield>
            <controlfield tag="008">800108s1899    ilu           000 0 eng  </controlfield>
            <datafield tag="245" ind1="0" ind2="0"><subfield code="a">Café</subfield></datafield></record>
            """)
        let record = try #require(result.first?.record)
        #expect(record.leader.characterCoding == UInt8(ascii: "a"))
        #expect(result[0].diagnostics.map(\.code) == [.encoding])
        #expect(result[0].diagnostics[0].severity == .warning)
        // Plain ASCII needs no change and no warning.
        let ascii = try items("<record><leader>00000nam  2200000 a 4500</leader><controlfield tag=\"001\">x</controlfield></record>")
        #expect(ascii.first?.record?.leader.characterCoding == 0x20)
        #expect(ascii.first?.diagnostics.isEmpty == true)
    }
}
