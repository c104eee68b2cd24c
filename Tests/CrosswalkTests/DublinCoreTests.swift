import Crosswalk
import Foundation
import MARC
import Testing

/// Simple Dublin Core (OAI-PMH `oai_dc`, SRU `dc`) from real MARC21 and CNMARC records.
@Suite("MARC to Dublin Core")
struct DublinCoreTests {
    static func records(_ name: String) throws -> [MARCRecord] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MARCTests/Fixtures/\(name)").path
        let reader = ISO2709Reader(source: try FileByteSource(path: path))
        var records: [MARCRecord] = []
        while let item = try reader.next() { if let record = item.record { records.append(record) } }
        return records
    }

    static func values(_ elements: [DublinCore.Element], _ name: String) -> [String] {
        elements.filter { $0.name == name }.map(\.value)
    }

    @Test("MARC21: romanised and vernacular (880) title, creator and publisher; ISBN as a URN; date, type, language; no ISBD punctuation")
    func marc21() throws {
        let record = try #require(try Self.records("loc-cjk-20.mrc").first { $0.controlNumber == "00049916" })
        let dc = DublinCore.elements(of: record)
        #expect(Self.values(dc, "title") == ["Ming dai zheng zhi zhi du Zhang Zhi'an zhu", "明代政治制度 張治安著"])
        #expect(Self.values(dc, "creator") == ["Zhang, Zhi'an", "張治安"])
        #expect(Self.values(dc, "publisher").contains("台北市 五南圖書出版有限公司"))
        #expect(Self.values(dc, "identifier") == ["URN:ISBN:9571117846"])
        #expect(Self.values(dc, "type") == ["Text"] && Self.values(dc, "language") == ["chi"])
        #expect(Self.values(dc, "subject").contains("China -- Politics and government -- 1368-1644"))
        #expect(Self.values(dc, "date") == ["Min guo 88 [1999]"])
    }

    @Test("CNMARC: 200 title, 701/711 contributors, 210 publisher and date, 010 ISBN, 101 language, 606 subject")
    func cnmarc() throws {
        let record = try #require(try Self.records("dp2-bnu-cnmarc-10.utf8.iso").first)
        let dc = DublinCore.elements(of: record)
        #expect(Self.values(dc, "title") == ["'94中国发展报告"])
        #expect(Self.values(dc, "contributor") == ["叶震", "李强", "国家统计局"])
        #expect(Self.values(dc, "publisher") == ["北京 中国统计出版社"] && Self.values(dc, "date") == ["1994"])
        #expect(Self.values(dc, "identifier") == ["URN:ISBN:7-5037-1744-0"])
        #expect(Self.values(dc, "language") == ["chi"] && Self.values(dc, "subject") == ["经济发展 -- 概况 -- 中国 -- 1994"])
        #expect(Self.values(dc, "format") == ["320页 图 27cm"])
    }
}
