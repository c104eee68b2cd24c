import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Why a harvest could not go on, said so that `calisd ctl refresh status` tells an admin what to look at.
public enum HarvestError: Error, CustomStringConvertible, Sendable {
    /// The response is not well-formed XML, or not OAI-PMH.
    case malformed(String)
    /// An HTTP status other than 200 without an OAI-PMH error in its body.
    case http(status: Int, retryAfterSeconds: Int?)
    /// Connecting, sending or receiving failed, or took longer than the timeout.
    case transport(String)
    /// An OAI-PMH error the harvest cannot go on from.
    case oai(code: String, message: String)
    /// The member's settings cannot work (a bad URL, a metadata format that is not MARCXML).
    case configuration(String)
    /// The state folder cannot take what was harvested (disk full, permissions).
    case storage(String)

    public var description: String {
        switch self {
        case .malformed(let message): "malformed response: \(message)"
        case .http(let status, _): "HTTP \(status) from the provider"
        case .transport(let message): message
        case .oai(let code, let message): "OAI-PMH error \(code)" + (message.isEmpty ? "" : ": \(message)")
        case .configuration(let message): message
        case .storage(let message): message
        }
    }

    /// Worth another try in a moment: the provider or the network may be back.
    var isTransient: Bool {
        switch self {
        case .malformed, .transport: true
        case .http(let status, _): status >= 500 || status == 429 || status == 408
        case .oai, .configuration, .storage: false
        }
    }
}

/// OAI-PMH requests over HTTP(S) with AsyncHTTPClient: a timeout on each request, a bound on the body, and an
/// OAI-PMH error body read even when the status is not 200.
struct OAIClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let timeout: TimeAmount
    let maximumBytes: Int
    let userAgent: String

    init(http: HTTPClient, baseURL: String, timeout: TimeAmount, maximumBytes: Int, userAgent: String) throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil,
            url.fragment == nil
        else {
            throw HarvestError.configuration("the OAI-PMH base URL '\(baseURL)' is not an http:// or https:// URL")
        }
        self.http = http
        self.baseURL = baseURL
        self.timeout = timeout
        self.maximumBytes = maximumBytes
        self.userAgent = userAgent
    }

    /// The URL of one request: the base URL with the OAI-PMH arguments in its query.
    func url(_ arguments: [(String, String)]) -> String {
        let query = arguments.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        return baseURL + (baseURL.contains("?") ? "&" : "?") + query
    }

    func request(_ arguments: [(String, String)]) async throws -> OAIResponse {
        var request = HTTPClientRequest(url: url(arguments))
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "Accept", value: "text/xml, application/xml")
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout)
            body = try await response.body.collect(upTo: maximumBytes)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw HarvestError.malformed("the response is larger than \(maximumBytes >> 20) MiB")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw HarvestError.transport("no complete answer within \(timeout.nanoseconds / 1_000_000_000) s (\(error))")
        } catch {
            throw HarvestError.transport("cannot reach \(baseURL): \(error)")
        }
        let bytes = Array(body.readableBytesView)
        guard response.status == .ok else {
            // Some providers send OAI-PMH errors with a 4xx status: the error is what matters.
            if let oai = try? OAIResponse.parse(bytes), oai.error != nil { return oai }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            throw HarvestError.http(status: Int(response.status.code), retryAfterSeconds: retryAfter)
        }
        return try OAIResponse.parse(bytes)
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
