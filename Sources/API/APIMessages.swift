import APITypes
import Foundation
import MARC
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
            guard let decoded = percentDecoded(segment, plusIsSpace: false) else { return nil }
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
            let key = percentDecoded(keyValue[0], plusIsSpace: true)
            let value = keyValue.count > 1 ? percentDecoded(keyValue[1], plusIsSpace: true) : ""
            guard let key, let value else { return nil }
            pairs.append((key, value))
        }
        return pairs
    }

    /// `text` with its `%XX` escapes (and, in forms, `+` for a space) decoded; nil for a broken escape or bytes that
    /// are not UTF-8. Foundation's `removingPercentEncoding` went through NSString and was a tenth of a request.
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String? {
        let plus = plusIsSpace ? UInt8(ascii: "+") : UInt8(ascii: "%")
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == plus }) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next()?.hexDigitValue, let low = iterator.next()?.hexDigitValue else { return nil }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(0x20)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
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

    /// The answer as HTTP/1 response parts: head (type, length, location, `Connection: close` when the connection
    /// ends with it), body, end.
    func parts(version: HTTPVersion, keepAlive: Bool) -> [HTTPServerResponsePart] {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        if let location { headers.add(name: "Location", value: location) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        return [.head(HTTPResponseHead(version: version, status: status, headers: headers)), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)]
    }

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
