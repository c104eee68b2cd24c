import Foundation
import Testing

@testable import MARC

@Suite("Writers")
struct WriterTests {
    private func sampleRecord() -> MARCRecord {
        var record = MARCRecord(leader: Leader("00000cam a2200000 i 4500"))
        record.appendControlField("001", value: " ocm123 ")
        record.appendDataField(
            "245", indicators: (UInt8(ascii: "1"), UInt8(ascii: "0")),
            subfields: [(UInt8(ascii: "a"), "Über \"quotes\" & <tags> $5 :"), (UInt8(ascii: "b"), "中文书名")])
        return record
    }

    @Test("MARC-in-JSON is the code4lib form, one record per line, leader as read")
    func jsonForm() {
        var output: [UInt8] = []
        MARCJSONWriter.write(sampleRecord(), into: &output)
        let expected = #"{"leader":"00000cam a2200000 i 4500","fields":[{"001":" ocm123 "},{"245":{"ind1":"1","ind2":"0","subfields":[{"a":"Über \"quotes\" & <tags> $5 :"},{"b":"中文书名"}]}}]}"# + "\n"
        #expect(String(decoding: output, as: UTF8.self) == expected)
    }

    @Test("MARCXML escapes markup and reads back to the same record")
    func xmlRoundTrip() throws {
        let writer = MARCStreamWriter(format: .marcxml)
        var output: [UInt8] = []
        writer.writeHeader(into: &output)
        try writer.write(sampleRecord(), into: &output)
        writer.writeFooter(into: &output)
        let text = String(decoding: output, as: UTF8.self)
        #expect(text.contains("Über &quot;quotes&quot; &amp; &lt;tags&gt;") || text.contains("Über \"quotes\" &amp; &lt;tags&gt;"))
        let back = try readItems(bytes: output)
        #expect(back.count == 1)
        #expect(back[0].diagnostics.isEmpty)
        #expect(back[0].record == sampleRecord())
    }

    @Test("MARC-in-JSON reads back to the same record", arguments: ["loc-books-50.mrc", "loc-cjk-20.mrc", "dp2-bnu-cnmarc-10.utf8.iso"])
    func jsonRoundTrip(fixture: String) throws {
        let records = try readItems(path: Fixture.path(fixture)).compactMap(\.record)
        var output: [UInt8] = []
        for record in records { MARCJSONWriter.write(record, into: &output) }
        let back = try readItems(bytes: output).compactMap(\.record)
        let same = back == records
        #expect(same)
        // And back to ISO 2709, byte for byte.
        var iso: [UInt8] = []
        for record in back { try ISO2709Writer.write(record, into: &iso) }
        let identical = try iso == Fixture.bytes(fixture)
        #expect(identical, "ISO 2709 written from the JSON differs from the original")
    }

    @Test("the line form shows blanks as backslashes and escapes dollars")
    func textForm() {
        var output: [UInt8] = []
        MARCTextWriter.write(sampleRecord(), into: &output)
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines[0] == #"=LDR  00000cam\a2200000\i\4500"#)
        #expect(lines[1] == #"=001  \ocm123\"#)
        #expect(lines[2] == #"=245  10$aÜber "quotes" & <tags> {dollar}5 :$b中文书名"#)
    }

    @Test("bytes that are not UTF-8 become U+FFFD in JSON and XML, which stay well-formed")
    func invalidUTF8IsReplaced() throws {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", bytes: [0x41, 0xE9, 0x42, 0x01])
        var json: [UInt8] = []
        MARCJSONWriter.write(record, into: &json)
        #expect(String(decoding: json, as: UTF8.self).contains(#""A\u{FFFD}B\u0001""#.replacingOccurrences(of: "\\u{FFFD}", with: "\u{FFFD}")))
        #expect((try? JSONSerialization.jsonObject(with: Data(json))) != nil)
        var xml: [UInt8] = []
        MARCXMLWriter.write(record, standalone: true, into: &xml)
        #expect(String(decoding: xml, as: UTF8.self).contains("A\u{FFFD}B\u{FFFD}"))
        let back = try readItems(bytes: xml)
        #expect(back.first?.diagnostics.isEmpty == true)
    }

    @Test("every character JSON must escape is escaped wherever it falls in a value, and the worst case fits")
    func jsonEscapesAtEveryPosition() throws {
        // Values are scanned eight bytes at a time: put each character that needs care at each offset of a run.
        let special: [[UInt8]] = [[0x22], [0x5C], [0x0A], [0x00], [0x1F], [0x7F], Array("é".utf8), Array("中".utf8), Array("😀".utf8), [0xFF]]
        for bytes in special {
            for offset in 0..<17 {
                var value = [UInt8](repeating: UInt8(ascii: "x"), count: offset) + bytes
                value += [UInt8](repeating: UInt8(ascii: "y"), count: 20 - offset)
                var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
                record.appendControlField("001", bytes: value)
                var json: [UInt8] = []
                MARCJSONWriter.write(record, into: &json)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
                let field = try #require((object["fields"] as? [[String: String]])?.first?["001"])
                #expect(field == String(decoding: value, as: UTF8.self), "bytes \(bytes) at \(offset)")
            }
        }
        // Every byte a control character (six bytes each) and every subfield empty: the writer's largest output.
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendControlField("001", bytes: [UInt8](repeating: 0x01, count: 300))
        record.appendDataField(
            "245", indicators: (0x01, 0x02),
            subfields: Array(repeating: (UInt8(ascii: "a"), ""), count: 200) + [(0x01, String(repeating: "\u{1}", count: 100))])
        var json: [UInt8] = []
        MARCJSONWriter.write(record, into: &json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        let fields = try #require(object["fields"] as? [[String: Any]])
        let subfields = try #require((fields.last?["245"] as? [String: Any])?["subfields"] as? [[String: String]])
        #expect(subfields.count == 201)
        #expect(subfields.last?["\u{1}"] == String(repeating: "\u{1}", count: 100))
    }

    @Test("a field over 9,998 bytes cannot be written as ISO 2709")
    func oversizeFieldRefused() {
        var record = MARCRecord(leader: Leader("00000nam a2200000 a 4500"))
        record.appendDataField("520", subfields: [(UInt8(ascii: "a"), String(repeating: "y", count: 10_000))])
        #expect(throws: MARCError.self) { try ISO2709Writer.data(record) }
    }
}

@Suite("Building records")
struct RecordBuildingTests {
    @Test("a record copied field by field with append(_:) writes the same ISO 2709 bytes, CJK and all", arguments: [
        "loc-books-50.mrc", "loc-cjk-20.mrc", "dp2-bnu-cnmarc-10.utf8.iso",
    ])
    func appendCopiesFields(name: String) throws {
        let reader = try MARCReaders.open(bytes: try Fixture.bytes(name)).reader
        var count = 0
        while let item = try reader.next() {
            guard let record = item.record else { continue }
            var copy = MARCRecord(leader: record.leader)
            for field in record.fields { copy.append(field) }
            #expect(try ISO2709Writer.data(copy) == ISO2709Writer.data(record))
            #expect(copy.fields.map(\.subfields).map { Array($0).map(\.value) } == record.fields.map(\.subfields).map { Array($0).map(\.value) })
            count += 1
        }
        #expect(count >= 10)
    }
}
