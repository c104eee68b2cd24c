import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `calisd ctl`'s connection to the daemon: one HTTP/1.1 request per call over the Unix socket.
public struct APIClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// The `Location` of a redirect.
        public var location: String?
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    /// Sends a request with a small body (or none) and reads the whole response.
    /// A GET the daemon closed without answering (it closes connections silent past its idle timeout, which a
    /// client stalled between connecting and writing can be) is sent once more: reading twice changes nothing.
    public func request(_ method: String, _ target: String, json body: [UInt8]? = nil) async throws(APIClientError) -> Response {
        let send = { () async throws(APIClientError) -> Response in
            try await exchange(method, target, contentType: body == nil ? nil : "application/json", length: body.map { Int64($0.count) }) {
                writer in
                if let body { try await writer.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            }
        }
        do {
            return try await send()
        } catch .protocolError where method == "GET" || method == "HEAD" {
            return try await send()
        }
    }

    /// Streams a file as the body of a POST, calling `progress` with bytes sent and total.
    public func upload(
        _ target: String, file: String, progress: @escaping @Sendable (Int64, Int64) -> Void
    ) async throws(APIClientError) -> Response {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw APIClientError.file(file, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw APIClientError.file(file, "not a regular file")
        }
        let total = Int64(info.st_size)
        return try await exchange("POST", target, contentType: "application/octet-stream", length: total) { writer in
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var sent: Int64 = 0
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count < 0 { throw APIClientError.file(file, String(cString: strerror(errno))) }
                if count == 0 { break }
                try await writer.write(.body(.byteBuffer(ByteBuffer(bytes: buffer[..<count]))))
                sent += Int64(count)
                progress(sent, total)
            }
        }
    }

    private func exchange(
        _ method: String, _ target: String, contentType: String?, length: Int64?,
        body: (NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>) async throws -> Void
    ) async throws(APIClientError) -> Response {
        let connection: Connection
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw APIClientError.connect(socketPath, "\(error)")
        }
        do {
            return try await connection.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: "calisd")
                headers.add(name: "Accept", value: "application/json")
                headers.add(name: "Connection", value: "close")
                if let contentType { headers.add(name: "Content-Type", value: contentType) }
                headers.add(name: "Content-Length", value: String(length ?? 0))
                try await outbound.write(
                    .head(HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target, headers: headers)))
                do {
                    try await body(outbound)
                    try await outbound.write(.end(nil))
                } catch let error as APIClientError {
                    throw error
                } catch {
                    // The server may answer and close before taking the whole body (too large, forbidden): read it.
                }
                var status = 0
                var location: String?
                var bytes: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                        location = head.headers.first(name: "Location")
                    case .body(let buffer): bytes += buffer.readableBytesView
                    case .end: return Response(status: status, body: bytes, location: location)
                    }
                }
                guard status != 0 else { throw APIClientError.protocolError("the daemon closed the connection without answering") }
                return Response(status: status, body: bytes, location: location)
            }
        } catch let error as APIClientError {
            throw error
        } catch {
            throw APIClientError.protocolError("\(error)")
        }
    }
}

/// Why `calisd ctl` could not get an answer, said so an admin knows what to check.
public enum APIClientError: Error, CustomStringConvertible {
    case connect(String, String)
    case file(String, String)
    case protocolError(String)

    public var description: String {
        switch self {
        case .connect(let path, let reason):
            "cannot connect to calisd at \(path) (\(reason)): is the daemon running, and may this user use its socket? (--socket PATH)"
        case .file(let path, let reason): "cannot read \(path): \(reason)"
        case .protocolError(let reason): "the daemon's answer could not be read: \(reason)"
        }
    }
}
