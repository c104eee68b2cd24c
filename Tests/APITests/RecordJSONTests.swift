import APITypes
import Foundation
import MARC
import Testing

@testable import API
@testable import Store

/// Record answers are written byte by byte (RecordJSON) for speed; they must be the very document the API's
/// body types describe, which JSONEncoder wrote before: every key, every value, every escape.
@Suite("record answers written to bytes")
struct RecordJSONTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MARCTests/Fixtures")

    static func records(_ name: String) throws -> [[UInt8]] {
        let reader = try MARCReaders.open(path: fixtures.appendingPathComponent(name).path).reader
        var records: [[UInt8]] = []
        while let item = try reader.next() {
            guard let record = item.record else { continue }
            var bytes: [UInt8] = []
            try ISO2709Writer.write(record, into: &bytes)
            records.append(bytes)
        }
        return records
    }

    /// Values JSON must escape: quotes, backslashes, control characters, a tab, a newline, and scripts beyond ASCII.
    static func awkwardRecord() throws -> [UInt8] {
        var record = MARCRecord()
        record.appendControlField("001", value: "a\"b\\c")
        record.appendControlField("005", value: "tab\there")
        record.appendDataField(
            "245", indicators: (0x31, 0x30),
            subfields: [(UInt8(ascii: "a"), "Line\nbreak \u{1} \u{1F} \u{7F} \"quoted\" C:\\path / slash"), (UInt8(ascii: "b"), "民俗 한국 日本語 😀")])
        var bytes: [UInt8] = []
        try ISO2709Writer.write(record, into: &bytes)
        return bytes
    }

    static func source(_ id: Int64, _ record: [UInt8], member: String, file: Int64?, union: Int64?) -> SourceRecordView {
        SourceRecordView(
            id: id, member: member, localID: "L\(id) \"x\"", flavour: "marc21", originalEncoding: "utf-8", status: "active", locked: id % 2 == 0,
            unionID: union, fileID: file, updatedAt: 1_764_142_564 + id, record: record,
            features: MatchKey.encode([MatchKey("isbn", "97807\(id)"), MatchKey("lccn", "n\(id)"), MatchKey("title", "not an identifier")]))
    }

    static func holding(_ index: Int, full: Bool) -> HoldingView {
        HoldingView(
            holder: "M00\(index)", location: full ? "Main \"stacks\"" : nil, callNumber: full ? "PS3537 .T845" : nil, items: full ? 3 : nil,
            summary: full ? "v.1-\\2" : nil, bibMember: "M00\(index)", bibLocalID: "B\(index)", unionID: full ? 42 : nil, sourceKind: "record",
            sourceLocalID: "S\(index)", fileID: full ? Int64(index) : nil, receivedAt: 1_700_000_000, confirmedAt: full ? 1_700_000_000 : 1_800_000_000)
    }

    /// Both documents parsed and written again with sorted keys: equal when every key and value is.
    static func normalised(_ bytes: [UInt8]) throws -> Data {
        try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: Data(bytes)), options: [.sortedKeys])
    }

    @Test("union records of real LoC, CJK and CNMARC records, with and without holdings, match the body type exactly")
    func matchesTheBodyType() throws {
        var records = try Self.records("loc-books-50.mrc") + Self.records("loc-cjk-20.mrc") + Self.records("dp2-bnu-cnmarc-10.utf8.iso")
        records.append(try Self.awkwardRecord())
        records.append([])
        records.append(Array("not a record".utf8))
        #expect(records.count == 83)
        for (index, record) in records.enumerated() {
            let id = Int64(index + 1)
            let other = records[(index + 7) % records.count]
            let view = UnionRecordView(
                id: id, status: index % 5 == 0 ? "merged" : "active", masterID: index % 3 == 0 ? nil : id * 10,
                redirectTo: index % 5 == 0 ? 99 : nil, createdAt: 1_700_000_000, updatedAt: 1_764_142_564,
                sources: [Self.source(id * 10, record, member: "M002", file: id, union: id), Self.source(id * 10 + 1, other, member: "M001", file: nil, union: nil)])
            let holdings = index % 2 == 0 ? [Self.holding(1, full: true), Self.holding(2, full: false)] : []
            let written = RecordJSON.union(view, holdings: holdings, staleBefore: 1_750_000_000)
            #expect(written.last == 0x0A)
            let typed = APIResponse.json(Bodies.union(view, holdings: holdings, staleBefore: 1_750_000_000)).body
            #expect(try Self.normalised(written) == Self.normalised(typed), "record \(index)")
            let decoded = try JSONDecoder().decode(UnionRecordBody.self, from: Data(written))
            #expect(decoded == Bodies.union(view, holdings: holdings, staleBefore: 1_750_000_000), "record \(index)")
        }
    }

    @Test("an identifier lookup's list matches the body type, empty or not")
    func listMatchesTheBodyType() throws {
        let records = try Self.records("loc-cjk-20.mrc")
        let views = records.prefix(3).enumerated().map { index, record in
            UnionRecordView(
                id: Int64(index + 1), status: "active", masterID: Int64(index + 1), redirectTo: nil, createdAt: 0, updatedAt: 1,
                sources: [Self.source(Int64(index + 1), record, member: "M001", file: 1, union: Int64(index + 1))])
        }
        for list in [[], Array(views)] {
            let written = RecordJSON.list(list)
            let typed = APIResponse.json(UnionListBody(records: list.map { Bodies.union($0) })).body
            #expect(try Self.normalised(written) == Self.normalised(typed))
        }
    }

    @Test("timestamps are UTC seconds with a Z, from 1970 to past 9999")
    func timestamps() {
        #expect(Bodies.timestamp(0) == "1970-01-01T00:00:00Z")
        #expect(Bodies.timestamp(1_764_142_564) == "2025-11-26T07:36:04Z")
        #expect(Bodies.timestamp(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(Bodies.timestamp(253_402_300_799) == "9999-12-31T23:59:59Z")
        #expect(Bodies.timestamp(253_402_300_800) == "10000-01-01T00:00:00Z")
    }
}
