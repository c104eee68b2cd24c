import APITypes
import Foundation
import NIOCore
import NIOHTTP1

/// A request as the routes see it: the path split and percent-decoded, the query parsed, the body read (or
/// streamed to a file, for uploads).
struct APIRequest: Sendable {
    var method: HTTPMethod
    var path: [String]
    var query: [String: String]
    var headers: HTTPHeaders
    var body: [UInt8]
    var uploadedFile: String?
    var peer: PeerCredentials
    /// The query's parameters in order, repeats kept (OAI-PMH refuses a repeated argument).
    var queryPairs: [(name: String, value: String)] = []

    /// Splits `/v1/members/M001/records/abc%2F1?format=json` into decoded segments and a query; nil when the
    /// target is not a valid path (bad percent-encoding, no leading slash).
    static func parseTarget(_ uri: String) -> (path: [String], query: [String: String], pairs: [(name: String, value: String)])? {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let rawPath = parts.first, rawPath.hasPrefix("/") else { return nil }
        var path: [String] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = String(segment).removingPercentEncoding else { return nil }
            path.append(decoded)
        }
        guard let pairs = parts.count == 2 ? parseForm(parts[1]) : [] else { return nil }
        var query: [String: String] = [:]
        for (key, value) in pairs { query[key] = value }
        return (path, query, pairs)
    }

    /// `a=1&b=x+y` (a query, or an `application/x-www-form-urlencoded` body) as decoded pairs; nil for bad
    /// percent-encoding.
    static func parseForm(_ text: Substring) -> [(name: String, value: String)]? {
        var pairs: [(name: String, value: String)] = []
        for pair in text.split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(keyValue[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            let value = (keyValue.count > 1 ? String(keyValue[1]) : "").replacingOccurrences(of: "+", with: " ")
                .removingPercentEncoding
            guard let key, let value else { return nil }
            pairs.append((key, value))
        }
        return pairs
    }
}

/// A response: status, content type and body.
struct APIResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    /// Where a redirect points (the `Location` header).
    var location: String?

    static let jsonType = "application/json; charset=utf-8"

    static func json<Body: Encodable>(_ body: Body, status: HTTPResponseStatus = .ok) -> APIResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return APIResponse(status: status, contentType: jsonType, body: Array(try encoder.encode(body)) + [0x0A])
        } catch {
            return .error(.internalServerError, "internal", "the response could not be encoded")
        }
    }

    static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String) -> APIResponse {
        let body = APIErrorBody(code: code, message: message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = (try? encoder.encode(body)).map { Array($0) } ?? Array(#"{"error":{"code":"internal","message":""}}"#.utf8)
        return APIResponse(status: status, contentType: jsonType, body: bytes + [0x0A])
    }
}

/// A failure a route turns into a status and a JSON error: what went wrong and what to do.
struct APIError: Error {
    var status: HTTPResponseStatus
    var code: String
    var message: String

    init(_ status: HTTPResponseStatus, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "unauthorized", message) }
    static let forbidden = APIError(.forbidden, "forbidden", "admin only: the peer must be root or in the configured admin_group")

    var response: APIResponse { .error(status, code, message) }
}
