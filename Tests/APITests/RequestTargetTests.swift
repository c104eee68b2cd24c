import Testing

@testable import API

/// Request targets as clients send them: percent-escapes in paths and queries, `+` in forms, and broken escapes.
@Suite("request targets")
struct RequestTargetTests {
    @Test("escapes decode to UTF-8; + is a space in a query but not in a path")
    func decoding() throws {
        let target = try #require(APIRequest.parseTarget("/v1/members/M%20001/records/a+b?title=%E6%B0%91%E4%BF%97+history&x=&isbn=978-7"))
        #expect(target.path == ["v1", "members", "M 001", "records", "a+b"])
        #expect(target.query == ["title": "民俗 history", "x": "", "isbn": "978-7"])
        #expect(target.pairs.map(\.name) == ["title", "x", "isbn"])
        #expect(APIRequest.percentDecoded("%e6%b0%91", plusIsSpace: false) == "民", "lower-case hex")
        #expect(APIRequest.percentDecoded("plain", plusIsSpace: true) == "plain")
    }

    @Test("a broken escape or bytes that are not UTF-8 make the target invalid")
    func broken() {
        for bad in ["/v1/records/%zz", "/v1/records/%4", "/v1/records/%", "/v1/records/%E6%B0", "/v1/records/%FF", "/v1/x?a=%G0", "v1/health"] {
            #expect(APIRequest.parseTarget(bad) == nil, "\(bad)")
        }
    }
}
