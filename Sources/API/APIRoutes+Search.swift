import APITypes
import Foundation
import MARC
import Search
import Store

extension APIRoutes {
    /// `GET /v1/search?q=&title=&author=&publisher=&limit=&cursor=`: union records by words of their titles,
    /// authors and publishers in any script, best first, paged by an opaque cursor.
    func search(_ request: APIRequest) throws -> APIResponse {
        var terms: [String] = []
        let fields: [(parameter: String, column: String?)] = [("q", nil), ("title", "title"), ("author", "author"), ("publisher", "publisher")]
        for (parameter, column) in fields {
            guard let text = request.query[parameter] else { continue }
            guard let match = SearchTokens.match(text, column: column) else {
                throw APIError.badRequest("\(parameter): '\(text)' holds no word to search for")
            }
            terms.append(match)
        }
        guard !terms.isEmpty else {
            throw APIError.badRequest("search with q= (any of title, author, publisher) or title=, author=, publisher=")
        }
        let limit: Int
        if let text = request.query["limit"] {
            guard let value = Int(text), (1...100).contains(value) else { throw APIError.badRequest("limit must be a whole number from 1 to 100") }
            limit = value
        } else {
            limit = 20
        }
        var offset = 0
        if let token = request.query["cursor"] {
            guard let value = SearchCursor.offset(token) else {
                throw APIError.badRequest("cursor: use the `next` value of the previous page as it was given")
            }
            offset = value
        }
        // One more than asked: whether there is a next page.
        let hits = try context.store.search(match: terms.joined(separator: " AND "), limit: limit + 1, offset: offset)
        let page = hits.prefix(limit)
        let records = try page.compactMap { hit -> SearchResultsBody.Hit? in
            guard let union = try context.store.unionRecord(id: hit.unionID) else { return nil }
            let master = union.sources.first { $0.id == union.masterID } ?? union.sources.first
            let display = master.flatMap { ISO2709Parser.parse($0.record).record }.map(RecordDisplay.of)
            return SearchResultsBody.Hit(
                id: UnionID.format(union.id), title: display?.title, vernacularTitle: display?.vernacularTitle, author: display?.author,
                publisher: display?.publisher, year: display?.year, members: Array(Set(union.sources.map(\.member))).sorted(),
                score: -hit.score)
        }
        return .json(SearchResultsBody(records: records, next: hits.count > limit ? SearchCursor.token(offset + limit) : nil))
    }
}

/// The cursor of a search page: opaque to clients, the offset of the next page underneath (ranking has no key
/// to continue after).
enum SearchCursor {
    static func token(_ offset: Int) -> String {
        Data("s1:\(offset)".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    static func offset(_ token: String) -> Int? {
        let padded = token + String(repeating: "=", count: (4 - token.count % 4) % 4)
        guard let data = Data(base64Encoded: padded), let text = String(data: data, encoding: .utf8), text.hasPrefix("s1:"),
            let offset = Int(text.dropFirst(3)), (0...100_000).contains(offset)
        else { return nil }
        return offset
    }
}
