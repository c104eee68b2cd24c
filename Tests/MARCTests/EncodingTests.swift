import CalisdTesting
import Foundation
import Testing

@testable import MARC
import CMARCTables

@Suite("Encodings: MARC-8 with EACC, GB18030, ISO 5426, Cyrillic code pages")
struct EncodingTests {
    static func lines(_ fixture: String) throws -> [ArraySlice<UInt8>] {
        try Fixture.bytes(fixture).split(separator: 0x0A, omittingEmptySubsequences: false).map { $0 }
    }

    static func decodeMARC8(_ bytes: ArraySlice<UInt8>) -> (String, [String]) {
        var decoder = MARC8Decoder()
        var output: [UInt8] = []
        decoder.decodeField(bytes, into: &output)
        return (String(decoding: output, as: UTF8.self), decoder.problems)
    }

    @Test("pymarc's line-aligned MARC-8 corpus decodes to its UTF-8 twin, line for line")
    func pymarcLineCorpus() throws {
        let marc8 = try Self.lines("pymarc-test_marc8.txt")
        let utf8 = try Self.lines("pymarc-test_utf8.txt")
        try #require(marc8.count == utf8.count)
        var mismatches: [String] = []
        for (index, (source, expected)) in zip(marc8, utf8).enumerated() {
            let (decoded, _) = Self.decodeMARC8(source)
            if decoded != String(decoding: expected, as: UTF8.self) {
                mismatches.append("line \(index + 1): \(decoded.debugDescription) ≠ \(String(decoding: expected, as: UTF8.self).debugDescription)")
            }
        }
        // The one line that differs is pymarc's synthetic string of DEL and C0 bytes in EACC mode, which pymarc
        // maps through entries the LoC tables do not have.
        #expect(marc8.count == 1516)  // 1,515 lines and the empty one after the last newline
        #expect(mismatches.count <= 1, "\(mismatches.count) of \(marc8.count) lines differ:\n\(mismatches.prefix(5).joined(separator: "\n"))")
        #expect(mismatches.allSatisfy { $0.hasPrefix("line 1515:") })
    }


    /// Fields of records from two files, compared after Unicode composition (MarcEdit composes, LoC decomposes).
    static func composedFields(_ record: MARCRecord) -> [String] {
        record.fields.map { field in
            "\(field.tag) \(field.isControlField ? field.value : String(decoding: field.data, as: UTF8.self))"
                .precomposedStringWithCanonicalMapping
        }
    }

    @Test("MARC-8 CJK records decode to their UTF-8 originals at least as often as yaz (1,994 of 2,000)",
          .enabled(if: SharedData.isAvailable, "needs ../shared/data"))
    func cjkPairsAgreeWithOriginals() throws {
        let marc8 = try readItems(path: try #require(SharedData.path("marc/derived/booksall-2016-chi-2000.marc8.mrc")))
        let utf8 = try readItems(path: try #require(SharedData.path("marc/derived/booksall-2016-chi-2000.utf8.mrc")))
        try #require(marc8.count == 2000 && utf8.count == 2000)
        var identical = 0
        for (decoded, original) in zip(marc8, utf8) {
            let left = try #require(decoded.record)
            let right = try #require(original.record)
            if Array(left.fields) == Array(right.fields) && left.leader.characterCoding == UInt8(ascii: "a") { identical += 1 }
            #expect(left.encoding == .marc8)
        }
        // The other four lost a GETA MARK (U+3013) when yaz made the MARC-8 file: it is not in the bytes.
        #expect(identical >= 1996, "\(identical) of 2,000")
    }

    @Test("MARC::Charset's CJK records decode as yaz decodes them", arguments: 1...4)
    func marcCharsetCJK(number: Int) throws {
        let path = Fixture.path("marc-charset-cjk\(number).marc")
        let ours = try readItems(path: path)
        #expect(ours.allSatisfy { !$0.hasErrors })
        guard ExternalTool.find("yaz-marcdump") != nil else {
            if ExternalTool.required { Issue.record("yaz-marcdump is not installed") }
            return
        }
        let yaz = try ExternalTool.run("yaz-marcdump", ["-f", "marc8", "-t", "utf8", "-o", "json", path])
        let object = try JSONSerialization.jsonObject(with: yaz.stdout)
        let theirs = try #require(PlainRecord(json: object))
        let mine = PlainRecord(try #require(ours.first?.record))
        #expect(mine.fields == theirs.fields)
        #expect(mine.fields.contains { $0.subfields.contains { $0[1].unicodeScalars.contains { $0.properties.isIdeographic } } })
    }

    /// The 100 and 245 headings ($a $b $c), composed: where the FOLIO files carry their diacritics. A double
    /// diacritic is written either as halves (U+FE20 U+FE21, as LoC's records and calisd do) or as one mark
    /// (U+0361, as yaz and MarcEdit do); the two spellings compare equal here.
    static func headings(_ record: MARCRecord) -> [String] {
        record.fields.filter { $0.tag == "100" || $0.tag == "245" }.map { field in
            field.subfields.filter { "abc".utf8.contains($0.code) }.map(\.value).joined(separator: " ")
                // MarcEdit's file keeps Sierra's {u0361} as text; calisd decodes it.
                .replacingOccurrences(of: "{u0361}", with: "\u{0361}")
                .replacingOccurrences(of: "\u{FE20}", with: "\u{0361}").replacingOccurrences(of: "\u{FE21}", with: "")
                .replacingOccurrences(of: "\u{FE22}", with: "\u{0360}").replacingOccurrences(of: "\u{FE23}", with: "")
                .precomposedStringWithCanonicalMapping
        }
    }

    @Test("the FOLIO triple: Sierra's MARC-8 reads to MarcEdit's UTF-8 of it; OCLC's reads as yaz reads it")
    func folioDiacriticsTriple() throws {
        let utf8 = try readItems(path: Fixture.path("folio-diac-marcedit-utf8.mrc")).compactMap(\.record)
        let sierra = try readItems(path: Fixture.path("folio-diac-sierra-marc8.mrc"))
        try #require(sierra.count == 8 && utf8.count == 8)
        // MarcEdit's file was made from Sierra's: every heading must match, but record 7's (see below).
        for (index, (item, reference)) in zip(sierra, utf8).enumerated() where index != 6 {
            #expect(Self.headings(try #require(item.record)) == Self.headings(reference), "Sierra record \(index + 1)")
            #expect(item.record?.encoding == .marc8)
        }
        // Sierra writes what MARC-8 lacks as {uXXXX}: record 3 has U+0654 (Arabic hamza above).
        #expect(sierra[2].record?.fields.contains { $0.value.unicodeScalars.contains("\u{0654}") } == true)
        // Record 7 designates the three Greek *symbols* (ESC g) for whole Greek words: no table reads that,
        // MarcEdit's "UTF-8" of it is garbage too, and calisd reports it as an error. The others are clean.
        #expect(sierra[6].diagnostics.contains { $0.code == .encoding && $0.severity == .error })
        #expect(sierra.enumerated().allSatisfy { $0.offset == 6 || !$0.element.hasErrors })

        let oclcPath = Fixture.path("folio-diac-oclc-marc8.mrc")
        let oclc = try readItems(path: oclcPath)
        try #require(oclc.count == 8)
        guard let yaz = try yazDecodes(oclcPath) else { return }
        try #require(yaz.count == 8)
        for (index, (item, theirs)) in zip(oclc, yaz).enumerated() where index != 6 {
            let ours = Self.headings(try #require(item.record))
            #expect(ours == theirs, "OCLC record \(index + 1)")
        }
    }

    /// yaz's reading of a MARC-8 file: the 100/245 headings of each record, composed.
    func yazDecodes(_ path: String) throws -> [[String]]? {
        guard ExternalTool.find("yaz-marcdump") != nil else {
            if ExternalTool.required { Issue.record("yaz-marcdump is not installed") }
            return nil
        }
        let converted = try ExternalTool.run("yaz-marcdump", ["-f", "marc8", "-t", "utf8", "-l", "9=97", "-o", "marc", path])
        return try readItems(bytes: Array(converted.stdout)).compactMap(\.record).map(Self.headings)
    }

    @Test("Stanford's u2103: a delimiter inside an EACC character is repaired; what is really lost is an error")
    func stanfordU2103() throws {
        let raw = try readItems(path: Fixture.path("stanford-u2103-marc8.mrc"))
        let twin = try readItems(path: Fixture.path("stanford-u2103-utf8.mrc"))
        let record = try #require(raw.first?.record)
        let reference = try #require(twin.first?.record)
        #expect(record.first("880")?.subfield("a")?.hasPrefix("紫禁城宮") == true)
        #expect(raw[0].diagnostics.contains { $0.severity == .warning && $0.message.contains("read as '|'") })
        #expect(raw[0].diagnostics.contains { $0.severity == .error && $0.code == .encoding })
        // Every field without the damaged character is in the UTF-8 twin, which orders its 650s differently and
        // comes from another export of the local 999 item field.
        let compared: (MARCField) -> Bool = { $0.tag != "880" && $0.tag != "999" }
        let mine = record.fields.filter(compared).map { "\($0.tag) \(String(decoding: $0.data, as: UTF8.self))" }
        let theirs = reference.fields.filter(compared).map { "\($0.tag) \(String(decoding: $0.data, as: UTF8.self))" }
        #expect(mine.sorted() == theirs.sorted())
        // The 260 vernacular field, which has no damage, decodes exactly as the twin has it.
        #expect(record.all("880")[1].data == reference.all("880")[1].data)
    }

    @Test("broken MARC-8 keeps going: bad escapes, bad EACC codes, mangled and cut multibyte",
          arguments: ["pymarc-bad_marc8_escape.dat", "pymarc-bad_eacc_encoding.dat",
                      "marc4j-chinese_mangled_multibyte.mrc", "marc4j-incomplete_esc_seq.mrc"])
    func brokenMARC8(fixture: String) throws {
        let items = try readItems(path: Fixture.path(fixture))
        let item = try #require(items.first)
        let record = try #require(item.record)
        #expect(item.diagnostics.contains { $0.code == .encoding && $0.severity == .error && $0.message.contains("U+FFFD") })
        #expect(record.leader.characterCoding == UInt8(ascii: "a"))
        #expect(record.encoding == .marc8)
        // Decoding went on after the fault: the rest of the record is there and readable.
        #expect(record.first("245") != nil)
        #expect(UTF8Validation.classify(record.storage) != .unknown8bit)
    }

    @Test("GB18030 CNMARC reads to the same records as its UTF-8 twin")
    func gb18030() throws {
        let gb = try readItems(path: Fixture.path("dp2-bnu-cnmarc-10.gb18030.iso"))
        let utf8 = try readItems(path: Fixture.path("dp2-bnu-cnmarc-10.utf8.iso"))
        try #require(gb.count == 10 && utf8.count == 10)
        for (decoded, original) in zip(gb, utf8) {
            let left = try #require(decoded.record)
            let right = try #require(original.record)
            #expect(left.encoding == .gb18030)
            #expect(!decoded.hasErrors)
            // The same fields, except that 100$a/26-29 now declares what the bytes are.
            let differing = zip(left.fields, right.fields).filter { $0.0 != $0.1 }.map { $0.0.tag.string }
            #expect(differing.allSatisfy { $0 == "100" }, "\(differing)")
            #expect(left.first("100")?.subfield("a")?.dropFirst(26).hasPrefix("50  ") == true)
            #expect(left.first("200")?.subfield("a") == right.first("200")?.subfield("a"))
        }
    }

    @Test("legacy 8-bit RUSMARC and MARC21 in Cyrillic code pages decode to Cyrillic",
          arguments: [("afronkin-rusmarc_2-0189.iso", MARCEncoding.windows1251, false),
                      ("afronkin-rusmarc_1-0102.iso", .windows1251, true), ("pymarc-1251.dat", .windows1251, true),
                      ("ruby-marc-cp866_unimarc.marc", .cp866, true)])
    func cyrillic(fixture: String, encoding: MARCEncoding, mismatchWarned: Bool) throws {
        let items = try readItems(path: Fixture.path(fixture))
        #expect(!items.isEmpty)
        for item in items {
            let record = try #require(item.record)
            #expect(record.encoding == encoding)
            #expect(!item.hasErrors)
            let text = record.fields.map(\.value).joined()
            let cyrillic = text.unicodeScalars.filter { (0x0410...0x044F).contains($0.value) }.count
            #expect(cyrillic > 20, "\(fixture): \(cyrillic) Cyrillic letters")
            #expect(item.diagnostics.contains { $0.code == .encoding } == mismatchWarned)
        }
    }

    @Test("ISO 5426 in UNIMARC: combining marks before the letter come out after it")
    func iso5426() throws {
        var record = MARCRecord(leader: Leader("00000nam0 2200000   450 "))
        record.appendDataField("100", subfields: [(UInt8(ascii: "a"), "20020204d1994    em y0frey0103    ba")])
        // 0xC2 is the combining acute in ISO 5426: "Soci" + acute + "et" reads "Société".
        var builder = DataFieldBuilder(indicators: (0x31, 0x20))
        builder.append(code: UInt8(ascii: "a"), value: Array("Soci".utf8) + [0xC2] + Array("et".utf8) + [0xC2] + Array("e".utf8))
        record.appendDataField("200", builder: builder)
        let items = try readItems(bytes: try ISO2709Writer.data(record))
        let decoded = try #require(items.first?.record)
        #expect(decoded.encoding == .iso5426)
        #expect(decoded.first("200")?.subfield("a") == "Soci\u{65}\u{301}te\u{301}".replacingOccurrences(of: "\u{65}\u{301}", with: "e\u{301}"))
        #expect(decoded.first("200")?.subfield("a")?.precomposedStringWithCanonicalMapping == "Société")
        #expect(decoded.first("100")?.subfield("a")?.dropFirst(26).hasPrefix("50  ") == true)
        #expect(items[0].diagnostics.isEmpty)
    }

    @Test("the leader and the bytes disagree: a warning, and the bytes decide")
    func leaderDisagreements() throws {
        let original = try #require(try readItems(path: Fixture.path("loc-cjk-20.mrc")).first?.record)
        // Blank leader/09 over valid multi-byte UTF-8.
        var blank = original
        blank.leader.characterCoding = 0x20
        let blankRead = try readItems(bytes: try ISO2709Writer.data(blank))
        #expect(blankRead[0].diagnostics.map(\.code) == [.encoding])
        #expect(blankRead[0].record?.leader.characterCoding == UInt8(ascii: "a"))
        #expect(blankRead[0].record.map { Array($0.fields) } == Array(original.fields))
        // Leader/09 'a' over MARC-8 bytes.
        let marc8 = try #require(try readItems(path: Fixture.path("marc-charset-cjk1.marc")).first?.record)
        var mislabelled = try #require(try readItems(bytes: Fixture.bytes("marc-charset-cjk1.marc"), transcode: false).first?.record)
        mislabelled.leader.characterCoding = UInt8(ascii: "a")
        let mislabelledRead = try readItems(bytes: try ISO2709Writer.data(mislabelled))
        #expect(mislabelledRead[0].diagnostics.contains { $0.code == .encoding && $0.severity == .warning })
        #expect(mislabelledRead[0].record.map { Array($0.fields) } == Array(marc8.fields))
    }

    @Test("the code tables carry every LoC entry, EACC included")
    func tablesAreComplete() {
        #expect(calisd_eacc_entry_count() == 15_739)
        #expect(calisd_eacc(0x213021) == 0x4E00)  // 一
        #expect(calisd_eacc(0x213A7C) == 0x5BAE)  // 宮
        #expect(calisd_marc8_single(calisd_marc8_set_index(0x45), 0xE2) == 0x8000_0301)  // ANSEL acute, combining
        #expect(calisd_marc8_single(calisd_marc8_set_index(0x4E), 0x41) != 0)  // Cyrillic
    }

    @Test("the generated tables are what the generator makes from the LoC files today",
          .enabled(if: SharedData.isAvailable, "needs ../shared/data"))
    func generatedTablesAreCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try Data(contentsOf: root.appendingPathComponent("Sources/CMARCTables/codetables.c"))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-tables-\(getpid())")
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("Sources/CMARCTables"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let script = scratch.appendingPathComponent("scripts/generate-codetables.py")
        try FileManager.default.copyItem(at: root.appendingPathComponent("scripts/generate-codetables.py"), to: script)
        let result = try ExternalTool.run("python3", [script.path, try #require(SharedData.path("marc"))])
        #expect(result.status == 0, "\(result.stderrText)")
        let regenerated = try Data(contentsOf: scratch.appendingPathComponent("Sources/CMARCTables/codetables.c"))
        #expect(regenerated == committed)
    }
}
