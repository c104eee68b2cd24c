import Foundation
import Testing

@testable import API

/// OAI-PMH's dates and the provider's resumption tokens, which harvesters hand back as they were given.
@Suite("OAI-PMH dates and resumption tokens")
struct OAIProtocolTests {
    @Test("datestamps are UTC seconds with a Z; from and until take a day or a second, a day's until its last second")
    func dates() throws {
        #expect(OAIProvider.datestamp(0) == "1970-01-01T00:00:00Z")
        #expect(OAIProvider.datestamp(1_764_131_696) == "2025-11-26T04:34:56Z")
        #expect(try OAIProvider.parseDate("2025-11-26T04:34:56Z", endOfDay: false) == (1_764_131_696, false))
        #expect(try OAIProvider.parseDate("2025-11-26", endOfDay: false) == (1_764_115_200, true))
        #expect(try OAIProvider.parseDate("2025-11-26", endOfDay: true) == (1_764_115_200 + 86_399, true))
        #expect(try OAIProvider.parseDate("2024-02-29", endOfDay: false).time == 1_709_164_800)
        for bad in ["2025-02-30", "2025-13-01", "2025-11-26T04:34:56", "2025-11-26T24:00:00Z", "26-11-2025", "2025-11-26T04:34Z", "", "2025-1-26", "２０２５-11-26"] {
            #expect(throws: OAIProvider.Failure.self, "\(bad)") { try OAIProvider.parseDate(bad, endOfDay: false) }
        }
    }

    @Test("a resumption token carries its whole list position and reads back; forged or cut tokens are refused")
    func tokens() throws {
        let position = ListPosition(
            prefix: "marc21", set: "M001", from: 1_700_000_000, until: nil, after: (1_700_000_123, 42), cursor: 200, total: 1_234)
        let token = position.token
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"), "safe in a URL as it is: \(token)")
        let back = try #require(ListPosition(token: token))
        #expect(back.prefix == "marc21" && back.set == "M001" && back.from == 1_700_000_000 && back.until == nil)
        #expect(back.after?.updatedAt == 1_700_000_123 && back.after?.id == 42 && back.cursor == 200 && back.total == 1_234)
        #expect(ListPosition(token: String(token.dropLast(6))) == nil)
        #expect(ListPosition(token: "not a token") == nil)
        #expect(ListPosition(token: Data("o1|marc21||||x|1|2|3".utf8).base64EncodedString()) == nil)
        #expect(ListPosition(token: Data("o1|marc21||||5|1|0|3".utf8).base64EncodedString()) == nil, "a cursor of 0 is no continuation")
        #expect(ListPosition(token: String(repeating: "A", count: 1_000)) == nil)
    }
}
