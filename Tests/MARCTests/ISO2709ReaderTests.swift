import Foundation
import Testing

@testable import MARC

@Suite("ISO 2709 reader")
struct ISO2709ReaderTests {
    @Test("well-formed UTF-8 records round-trip byte for byte", arguments: ["loc-books-50.mrc", "loc-cjk-20.mrc", "dp2-bnu-cnmarc-10.utf8.iso"])
    func roundTripIsByteExact(fixture: String) throws {
        let input = try Fixture.bytes(fixture)
        var output: [UInt8] = []
        let items = try readItems(bytes: input)
        for item in items {
            // The BNU records declare GB 2312 in 100$a/26-29 over UTF-8 bytes: a warning, nothing changed.
            #expect(item.diagnostics.allSatisfy { $0.code == .encoding && $0.severity == .warning }, "\(item.diagnostics)")
            try ISO2709Writer.write(try #require(item.record), into: &output)
        }
        let identical = output == input
        #expect(identical, "the rewritten bytes differ from the input")
    }

    @Test("each record keeps its fields in order, with indicators and subfields")
    func recordModelIsLossless() throws {
        let items = try readItems(path: Fixture.path("loc-books-50.mrc"))
        try #require(items.count == 50)
        let record = try #require(items.first?.record)
        #expect(record.leader.string == "00720cam a22002051  4500")
        #expect(record.controlNumber == "00000002")
        #expect(record.flavour == .marc21)
        let title = try #require(record.first("245"))
        #expect(title.indicator1 == UInt8(ascii: "1"))
        #expect(title.indicator2 == UInt8(ascii: "0"))
        #expect(title.subfield("a")?.hasPrefix("Botanic") == true)
        #expect(record.fields.map(\.tag.string).prefix(5) == ["001", "003", "005", "008", "010"])
    }

    @Test("CJK vernacular 880 fields are read as UTF-8")
    func cjkRecordsAreUTF8() throws {
        let items = try readItems(path: Fixture.path("loc-cjk-20.mrc"))
        try #require(items.count == 20)
        let withHan = items.compactMap(\.record).filter { record in
            record.all("880").contains { $0.subfields.contains { $0.value.unicodeScalars.contains { $0.properties.isIdeographic } } }
        }
        #expect(withHan.count > 10)
        #expect(items.allSatisfy { $0.record?.encoding == .utf8 })
    }

    @Test("a truncated last record is an error, and the eighteen before it are kept whole")
    func truncatedFileKeepsGoodRecords() throws {
        let items = try readItems(path: Fixture.path("marc4j-008008027-truncated.mrc"))
        try #require(items.count == 19)
        #expect(items.prefix(18).allSatisfy { $0.diagnostics.isEmpty && $0.record != nil })
        let last = try #require(items.last)
        #expect(last.hasErrors)
        #expect(last.diagnostics.contains { $0.code == .truncated && $0.severity == .error && $0.recordNumber == 19 })
        #expect(last.diagnostics.first?.controlNumber == "58-008008027")
        #expect(last.diagnostics.first?.byteOffset == 62502)
    }

    @Test("pymarc's bad records: bad base addresses are repaired, a lost field is an error, the tail is truncated")
    func pymarcBadRecords() throws {
        let items = try readItems(path: Fixture.path("pymarc-bad_records.mrc"))
        try #require(items.count == 9)
        #expect(items.filter { $0.record != nil }.count == 9)
        // Records 2, 3 and 6 have a wrong base address: repaired with a warning, nothing lost.
        for number in [2, 3, 6] {
            let item = items[number - 1]
            #expect(item.diagnostics.map(\.code) == [.baseAddress])
            #expect(!item.hasErrors)
            #expect(item.record?.first("245") != nil)
        }
        // Records 4 and 5 have a 13-byte directory: the field is found, but its tag may be wrong.
        for number in [4, 5] {
            #expect(items[number - 1].diagnostics.contains { $0.code == .directory && $0.severity == .error })
            #expect(items[number - 1].record?.fieldCount == 1)
        }
        // Record 7 has no fields at all.
        #expect(items[6].diagnostics.map(\.code) == [.directory])
        #expect(items[6].hasErrors)
        // The file ends 27 bytes short of record 9.
        #expect(items[8].diagnostics.contains { $0.code == .truncated && $0.severity == .error })
        #expect(items[0].diagnostics.isEmpty && items[7].diagnostics.isEmpty)
    }

    @Test("wrong record and field lengths are recovered from the terminators, with warnings only")
    func wrongLengthsAreRecovered() throws {
        let items = try readItems(path: Fixture.path("file-marc-wronglen.mrc"))
        let record = try #require(items.first?.record)
        let codes = items[0].diagnostics.map(\.code)
        #expect(codes == [.recordLength, .fieldLength])
        #expect(!items[0].hasErrors)
        #expect(record.first("949")?.subfield("a") != nil)
        // The newline after the record is reported, not silently eaten.
        try #require(items.count == 2)
        #expect(items[1].record == nil && items[1].diagnostics.map(\.code) == [.strayBytes] && !items[1].hasErrors)
    }

    @Test("a leader one byte short is found from the directory's shape")
    func shortLeaderIsRecovered() throws {
        let items = try readItems(path: Fixture.path("marc4j-pride-short-leader.mrc"))
        try #require(items.count == 3)
        let repaired = items[1]
        #expect(repaired.diagnostics.contains { $0.code == .leader && $0.message.contains("23 bytes") })
        #expect(!repaired.hasErrors)
        // Its leader says UTF-8; the bytes are Latin-1 ("Östersund").
        #expect(repaired.record?.encoding == .windows1252)
        #expect(repaired.record?.all("852").last?.subfield("a") == "Östersund")
        let record = try #require(repaired.record)
        #expect(record.controlNumber == "BTJ11184529X")
        #expect(record.first("245")?.subfield("a") == "The complete novels of Jane Austen")
        #expect(record.all("852").count == 2)
    }

    @Test("a corrupt directory is an error on that record; the good records around it are untouched")
    func corruptDirectoryAmongGoodRecords() throws {
        let items = try readItems(path: Fixture.path("marc4j-bad_oversize_field_bad_directory.mrc"))
        try #require(items.count == 5)
        #expect(items.filter(\.hasErrors).count == 1)
        #expect(items.filter { $0.diagnostics.isEmpty }.count == 4)
    }

    @Test("letters in leader/10-11 are warnings, and the record is read")
    func corruptLeaderIsAWarning() throws {
        let items = try readItems(path: Fixture.path("folio-corrupt_leader.mrc"))
        let record = try #require(items.first?.record)
        #expect(record.first("245") != nil)
        #expect(!items[0].hasErrors)
    }

    @Test("stray bytes between records are reported on the next record, which is kept")
    func strayBytesBetweenRecords() throws {
        let input = try Fixture.bytes("loc-books-50.mrc")
        let items = try readItems(bytes: input)
        let first = try ISO2709Writer.data(try #require(items[0].record))
        let second = try ISO2709Writer.data(try #require(items[1].record))
        let stitched = first + Array("\r\n\r\n".utf8) + second
        let reread = try readItems(bytes: stitched)
        try #require(reread.count == 2)
        #expect(reread[1].diagnostics.map(\.code) == [.strayBytes])
        #expect(reread[1].diagnostics[0].message.hasPrefix("4 stray"))
        #expect(reread[1].record == items[1].record)
    }

    @Test("a missing record terminator is repaired when the next record starts at the declared length")
    func missingRecordTerminator() throws {
        let items = try readItems(path: Fixture.path("loc-books-50.mrc"))
        var first = try ISO2709Writer.data(try #require(items[0].record))
        first.removeLast()  // drop 0x1D; the declared length now runs one byte into the next record
        let second = try ISO2709Writer.data(try #require(items[1].record))
        // Keep the length honest for the shortened record: rewrite it.
        let length = String(format: "%05d", first.count)
        first.replaceSubrange(0..<5, with: Array(length.utf8))
        let reread = try readItems(bytes: first + second)
        try #require(reread.count == 2)
        #expect(reread[0].diagnostics.map(\.code) == [.recordTerminator])
        let sameFields = try Array(#require(reread[0].record).fields) == Array(#require(items[0].record).fields)
        #expect(sameFields)
        #expect(reread[1].diagnostics.isEmpty)
    }

    @Test("a record over 99,999 bytes is read whole, with a warning, and the writer refuses it")
    func oversizeRecord() throws {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", value: "big-1")
        // Every start still fits five digits; only the total passes 99,999.
        for index in 0..<25 {
            let size = index == 24 ? 9_000 : 4_000
            record.appendDataField("500", subfields: [(UInt8(ascii: "a"), String(repeating: "x", count: size) + "\(index)")])
        }
        // Lay the record out by hand as some systems do: a zero length and a terminator at the end.
        var bytes: [UInt8] = Array("00000nam a2200000 a 4500".utf8)
        var data: [UInt8] = []
        for field in record.fields {
            let start = data.count
            data.append(contentsOf: field.data)
            data.append(MARCDelimiter.field)
            bytes.append(contentsOf: Array(field.tag.string.utf8))
            bytes.append(contentsOf: Array(String(format: "%04d%05d", field.data.count + 1, start).utf8))
        }
        bytes.append(MARCDelimiter.field)
        let base = bytes.count
        bytes.replaceSubrange(12..<17, with: Array(String(format: "%05d", base).utf8))
        bytes += data + [MARCDelimiter.record]
        #expect(bytes.count > 99_999)
        let items = try readItems(bytes: bytes)
        try #require(items.count == 1)
        #expect(items[0].diagnostics.contains { $0.code == .oversize && $0.severity == .warning })
        let read = try #require(items[0].record)
        #expect(read.fieldCount == 26)
        #expect(read.all("500").last?.subfield("a")?.hasSuffix("24") == true)
        #expect(throws: MARCError.self) { try ISO2709Writer.data(read) }
    }

    @Test("garbage never crashes or loops, and is always reported", arguments: [0, 1, 2, 3, 4, 5, 6, 7])
    func garbageIsReported(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let good = try Fixture.bytes("loc-books-50.mrc")
        // Corrupt a copy at random places, including digits of lengths and terminators.
        var bytes = good
        for _ in 0..<40 {
            let position = Int(generator.next() % UInt64(bytes.count))
            bytes[position] = UInt8(truncatingIfNeeded: generator.next())
        }
        let items = try readItems(bytes: bytes)
        #expect(!items.isEmpty)
        let recovered = items.compactMap(\.record).count
        #expect(recovered >= 40, "only \(recovered) of 50 records survived 40 corrupted bytes")
    }

    @Test("an empty input yields nothing, and random bytes end")
    func emptyAndRandomInput() throws {
        #expect(try readItems(bytes: []).isEmpty)
        var generator = SplitMix64(seed: 42)
        let noise = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let items = try readItems(bytes: noise)
        #expect(items.allSatisfy { !$0.diagnostics.isEmpty })
    }
}

/// A small deterministic generator so the random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
