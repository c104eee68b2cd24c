import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// Identifier lookups through the socket: what a copy cataloguer types, in any form.
@Suite("lookups by identifier")
struct LookupTests {
    static func isbn13(_ isbn10: String) -> String {
        let core = "978" + isbn10.prefix(9)
        let sum = core.enumerated().reduce(0) { $0 + Int(String($1.element))! * ($1.offset % 2 == 0 ? 1 : 3) }
        return core + String((10 - sum % 10) % 10)
    }

    @Test("an ISBN finds its union record in either form, with or without hyphens; so do LCCN and OCLC numbers; bad ones are 400")
    func lookups() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let books = try DaemonSupport.fixture("loc-books-50.mrc")
        try daemon.drop(books, member: "M001", name: "books.mrc")
        try daemon.drop(books, member: "M002", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let book = try #require(try DaemonSupport.locBooks().first { record in
            record.first("020")?.subfield("a").map { $0.prefix { $0.isNumber || $0 == "X" }.count == 10 } == true
        })
        let id = book.controlNumber!.trimmingCharacters(in: .whitespaces)
        let union = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(id)").unionID)
        let isbn10 = String(try #require(book.first("020")?.subfield("a")).prefix { $0.isNumber || $0 == "X" })
        let hyphenated = isbn10.prefix(1) + "-" + isbn10.dropFirst().prefix(4) + "-" + isbn10.dropFirst(5)
        for form in [isbn10, String(hyphenated), Self.isbn13(isbn10)] {
            let found = try await daemon.json(UnionListBody.self, "/v1/records?isbn=\(form)")
            #expect(found.records.map(\.id) == [union], "\(form)")
            #expect(found.records.first?.members == ["M001", "M002"])
        }
        let lccn = try await daemon.json(UnionListBody.self, "/v1/records?lccn=\(id)")
        #expect(lccn.records.map(\.id) == [union])
        if let oclc = book.all("035").compactMap({ $0.subfield("a") }).first(where: { $0.hasPrefix("(OCoLC)") }) {
            let number = oclc.dropFirst(7).drop { !$0.isNumber }
            #expect(try await daemon.json(UnionListBody.self, "/v1/records?oclc=\(number)").records.map(\.id) == [union])
        }
        // A valid ISBN nobody holds: an empty list, not an error.
        #expect(try await daemon.json(UnionListBody.self, "/v1/records?isbn=9780306406157").records.isEmpty)
        // Broken input: a wrong check digit, no identifier, two at once, an unknown one.
        for bad in ["/v1/records?isbn=0306406153", "/v1/records", "/v1/records?isbn=\(isbn10)&lccn=\(id)", "/v1/records?title=x"] {
            let response = try await daemon.get(bad)
            #expect(response.status == 400 && response.text.contains("\"error\""), "\(bad): \(response.status) \(response.text)")
        }
    }

    @Test("record answers kept in memory never outlive a change: a new title, a new holder and a deletion show at once in JSON, MARCXML and lookups")
    func keptAnswersFollowChanges() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let book = try #require(try DaemonSupport.locBooks().first { $0.first("020")?.subfield("a") != nil })
        let id = book.controlNumber!.trimmingCharacters(in: .whitespaces)
        let isbn = String(try #require(book.first("020")?.subfield("a")).prefix { $0.isNumber || $0 == "X" })
        try daemon.drop(try DaemonSupport.iso([book]), member: "M001", name: "first.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let union = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(id)").unionID)
        func answers() async throws -> (json: UnionRecordBody, xml: String, found: UnionListBody, texts: [String]) {
            let texts = [
                try await daemon.get("/v1/records/\(union)").text, try await daemon.get("/v1/records?isbn=\(isbn)").text,
            ]
            return (
                try JSONDecoder().decode(UnionRecordBody.self, from: Data(texts[0].utf8)),
                try await daemon.get("/v1/records/\(union)?format=marcxml").text,
                try JSONDecoder().decode(UnionListBody.self, from: Data(texts[1].utf8)), texts
            )
        }
        // Asked twice, so the second answers come from memory.
        _ = try await answers()
        let first = try await answers()
        #expect(first.json.members == ["M001"] && first.found.records.map(\.id) == [union])
        #expect(!first.xml.contains("Kept answers renamed"))

        try daemon.drop(try DaemonSupport.iso([DaemonSupport.rewriteTitle(book, "Kept answers renamed")]), member: "M001", name: "second.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 2)
        let renamed = try await answers()
        #expect(renamed.xml.contains("Kept answers renamed"), "MARCXML after the change")
        #expect(renamed.texts[0].contains("Kept answers renamed"), "JSON after the change")
        #expect(renamed.texts[1].contains("Kept answers renamed"), "lookup after the change")

        try daemon.drop(try DaemonSupport.iso([book]), member: "M002", name: "held.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let held = try await answers()
        #expect(held.json.members == ["M001", "M002"] && Set(held.json.holdings.map(\.holder)) == ["M001", "M002"])
        #expect(held.found.records.first?.members == ["M001", "M002"])

        try daemon.drop(try DaemonSupport.iso([DaemonSupport.rewrite(book, controlNumber: id, status: UInt8(ascii: "d"))]), member: "M002", name: "gone.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        let after = try await answers()
        #expect(after.json.members == ["M001"] && after.found.records.first?.members == ["M001"], "M002's deletion shows at once")
    }
}
