import NIOHTTP1
import Testing

@testable import API

/// The kept record answers: never served once the catalogue committed, the clock passed a holding's stale
/// moment, or the stale-after setting changed; bounded by the budget, keeping what is still asked for.
@Suite("record answers kept while the catalogue is unchanged")
struct AnswerCacheTests {
    static func response(_ text: String, bytes: Int = 0) -> APIResponse {
        APIResponse(status: .ok, contentType: APIResponse.jsonType, body: Array(text.utf8) + Array(repeating: 0x20, count: bytes))
    }

    static func entry(_ text: String, commit: UInt64 = 7, validUntil: Int64 = .max, staleAfter: Int64 = 100, bytes: Int = 0) -> AnswerCache.Entry {
        .init(response: response(text, bytes: bytes), commit: commit, validUntil: validUntil, staleAfter: staleAfter)
    }

    @Test("an answer is served only at the commit it was built at, before its stale moment, with the same stale-after")
    func currentOnly() {
        let cache = AnswerCache(budgetBytes: 1 << 20)
        cache.keep("union:1:json", Self.entry("one", validUntil: 1_000))
        #expect(cache.answer("union:1:json", commit: 7, now: 999, staleAfter: 100)?.body == Array("one".utf8))
        #expect(cache.answer("union:1:json", commit: 7, now: 1_000, staleAfter: 100) != nil, "stale only after the moment")
        #expect(cache.answer("union:1:json", commit: 8, now: 999, staleAfter: 100) == nil, "a later commit")
        #expect(cache.answer("union:1:json", commit: 7, now: 1_001, staleAfter: 100) == nil, "a holding turned stale")
        #expect(cache.answer("union:1:json", commit: 7, now: 999, staleAfter: 50) == nil, "stale_after_days reloaded")
        #expect(cache.answer("union:1:marcxml", commit: 7, now: 999, staleAfter: 100) == nil, "another format is another answer")
        cache.keep("union:1:json", Self.entry("one again", commit: 8))
        #expect(cache.answer("union:1:json", commit: 8, now: 5_000, staleAfter: 100)?.body == Array("one again".utf8))
    }

    @Test("a budget of 0 keeps nothing")
    func disabled() {
        let cache = AnswerCache(budgetBytes: 0)
        cache.keep("isbn:9780306406157", Self.entry("x"))
        #expect(cache.answer("isbn:9780306406157", commit: 7, now: 0, staleAfter: 100) == nil)
    }

    @Test("memory stays within the budget; an answer still asked for survives the turn of a generation, one not asked for goes")
    func bounded() {
        // Each entry is about 1,100 bytes; a generation turns at 5,000.
        let cache = AnswerCache(budgetBytes: 10_000)
        cache.keep("a", Self.entry("a", bytes: 1_000))
        cache.keep("b", Self.entry("b", bytes: 1_000))
        for round in 0..<20 {
            #expect(cache.answer("a", commit: 7, now: 0, staleAfter: 100) != nil, "round \(round)")
            cache.keep("filler\(round)", Self.entry("f", bytes: 1_000))
        }
        #expect(cache.answer("b", commit: 7, now: 0, staleAfter: 100) == nil)
        cache.keep("huge", Self.entry("h", bytes: 2_000))
        #expect(cache.answer("huge", commit: 7, now: 0, staleAfter: 100) == nil, "an answer over an eighth of the budget is not kept")
    }
}
