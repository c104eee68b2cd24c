import Foundation
import Testing

@testable import MARC

@Suite("MARC-in-JSON reader")
struct MARCJSONReaderTests {
    @Test("one object")
    func singleObject() throws {
        let result = try readItems(path: Fixture.path("pymarc-one.json"))
        try #require(result.count == 1)
        #expect(result[0].diagnostics.isEmpty)
        #expect(result[0].record?.first("245") != nil)
    }

    @Test("an array of objects")
    func array() throws {
        let result = try readItems(path: Fixture.path("pymarc-batch.json"))
        try #require(result.count == 2)
        #expect(result.allSatisfy { $0.diagnostics.isEmpty && $0.record != nil })
    }

    @Test("one object per line")
    func newlineDelimited() throws {
        let result = try readItems(path: Fixture.path("catmandu-test.ndj"))
        try #require(result.count == 9)
        #expect(result.allSatisfy { $0.diagnostics.isEmpty && $0.record != nil })
    }

    @Test("invalid JSON is an error and the reader goes on to the next line")
    func invalidLineThenValid() throws {
        let good = #"{"leader":"00000nam a2200000 a 4500","fields":[{"001":"x1"},{"245":{"ind1":"0","ind2":"0","subfields":[{"a":"T"}]}}]}"#
        let text = good + "\n" + #"{"leader": "broken", "fields": [ }"# + "\n" + good.replacingOccurrences(of: "x1", with: "x2") + "\n"
        let result = try readItems(bytes: Array(text.utf8))
        try #require(result.count == 3)
        #expect(result[0].record?.controlNumber == "x1")
        #expect(result[1].hasErrors && result[1].diagnostics[0].code == .json)
        #expect(result[2].record?.controlNumber == "x2")
        #expect(result.map(\.recordNumber) == [1, 2, 3])
    }

    @Test("marc4j's illegal MARC-in-JSON is reported, not read as a record")
    func illegalJSON() throws {
        let result = try readItems(path: Fixture.path("marc4j-illegal-marc-in-json.json"))
        #expect(result.allSatisfy { $0.hasErrors })
    }

    @Test("an array cut short is an error")
    func truncatedArray() throws {
        let result = try readItems(bytes: Array(#"[{"leader":"00000nam a2200000 a 4500","fields":[]},{"leader":"0000"#.utf8))
        try #require(result.count == 2)
        #expect(result[0].record != nil)
        #expect(result[1].diagnostics.contains { $0.code == .truncated })
    }

    @Test("an object that is not a MARC record is an error; escapes and surrogate pairs decode")
    func nonRecordsAndEscapes() throws {
        let result = try readItems(
            bytes: Array((#"{"title":"not marc"}"# + "\n" + #"{"leader":"00000nam a2200000 a 4500","fields":[{"245":{"ind1":" ","ind2":" ","subfields":[{"a":"caf\u00e9 \ud83d\udcda \"q\""}]}}]}"#).utf8))
        try #require(result.count == 2)
        #expect(result[0].hasErrors && result[0].record == nil)
        #expect(result[1].record?.first("245")?.subfield("a") == "café 📚 \"q\"")
    }

    @Test("MARC delimiters smuggled into a value are removed and reported")
    func delimitersInValues() throws {
        let result = try readItems(
            bytes: Array(#"{"leader":"00000nam a2200000 a 4500","fields":[{"245":{"ind1":" ","ind2":" ","subfields":[{"a":"a\u001fbc"}]}}]}"#.utf8))
        #expect(result[0].hasErrors)
        #expect(result[0].record?.first("245")?.subfield("a") == "abc")
    }
}
