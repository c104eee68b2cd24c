import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `struct ucred` of SO_PEERCRED, which Glibc's module does not export (it needs _GNU_SOURCE): pid, uid, gid.
struct RawPeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// The HTTP/1.1 server on the Unix socket: binds the configured path, or adopts the socket systemd passed.
public final class HTTPServer: Service, Sendable {
    /// Where to listen.
    public enum Listener: Sendable {
        case path(String)
        /// A listening socket inherited from systemd (LISTEN_FDS).
        case descriptor(Int32)
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// A full backlog makes a Unix-socket connect fail at once (EAGAIN), not wait: at 794 clients the default
    /// loses requests.
    static let backlog: Int32 = 4096
    /// Bodies other than uploads are small JSON.
    static let maximumBody = 1 << 20

    let listener: Listener
    /// A connection silent this long between requests, or stalled half-way through sending one, is closed.
    let idleTimeout: TimeAmount
    /// The optional loopback TCP listener (`[api] listen_tcp`) for a reverse proxy: never admin.
    let tcp: (host: String, port: Int)?
    let routes: APIRoutes
    let logger: Logger
    let onListening: @Sendable () -> Void

    /// - Parameter onListening: called once the socket accepts connections (systemd's READY=1 goes there).
    public init(
        listener: Listener, tcp: (host: String, port: Int)? = nil, idleTimeoutSeconds: Int = 60, context: APIContext,
        logger: Logger, onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.listener = listener
        self.idleTimeout = .seconds(Int64(idleTimeoutSeconds))
        self.tcp = tcp
        self.routes = APIRoutes(context: context, logger: logger)
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: Self.backlog)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<(Connection, PeerCredentials)> = { channel in
            let provider = channel as! any SocketOptionProvider
            let credentials: EventLoopFuture<RawPeerCredentials> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            return credentials.flatMapThrowing { peer in
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                try self.watchIdle(channel)
                let credentials = PeerCredentials(pid: peer.pid, uid: peer.uid, gid: peer.gid)
                try channel.pipeline.syncOperations.addHandler(KeptAnswerHandler(routes: self.routes, peer: credentials))
                let connection = try Connection(wrappingChannelSynchronously: channel)
                return (connection, credentials)
            }
        }
        let server: NIOAsyncChannel<(Connection, PeerCredentials), Never>
        switch listener {
        case .path(let path):
            server = try await bootstrap.bind(
                unixDomainSocketPath: path, cleanupExistingSocketFile: true, childChannelInitializer: initializer)
            // The socket's group (calisd) may connect; others may not.
            chmod(path, 0o660)
            logger.info("listening", metadata: ["calisd.socket": "\(path)"])
        case .descriptor(let descriptor):
            server = try await bootstrap.bind(descriptor, childChannelInitializer: initializer)
            // NIO resets an adopted socket's backlog to 128.
            listen(descriptor, Self.backlog)
            logger.info("listening on the socket systemd passed", metadata: ["calisd.fd": "\(descriptor)"])
        }
        var tcpServer: NIOAsyncChannel<(Connection, PeerCredentials), Never>?
        if let tcp {
            tcpServer = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: Self.backlog)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: tcp.host, port: tcp.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try self.watchIdle(channel)
                        try channel.pipeline.syncOperations.addHandler(KeptAnswerHandler(routes: self.routes, peer: .tcp))
                        return (try Connection(wrappingChannelSynchronously: channel), PeerCredentials.tcp)
                    }
                }
            logger.info("listening on loopback TCP, never admin", metadata: ["calisd.tcp": "\(tcp.host):\(tcp.port)"])
        }
        onListening()
        try await withThrowingDiscardingTaskGroup { listeners in
            listeners.addTask { try await self.accept(server) }
            if let tcpServer { listeners.addTask { try await self.accept(tcpServer) } }
        }
    }

    /// Silent and slow clients (a kept-alive connection never used again, a head sent a byte at a time) would
    /// otherwise hold descriptors for ever; one being answered (a backup, an export) or uploading is not idle.
    /// All of it happens on the connection's event loop, so a busy daemon slow to take up a request never
    /// mistakes it for silence.
    private func watchIdle(_ channel: any Channel) throws {
        let activity = ConnectionActivity()
        try channel.pipeline.syncOperations.addHandler(ActivityHandler(activity))
        let idle = idleTimeout
        let every = TimeAmount.nanoseconds(max(idle.nanoseconds / 4, TimeAmount.milliseconds(100).nanoseconds))
        let watch = channel.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            if activity.isIdle(longerThan: idle) { channel.close(promise: nil) }
        }
        channel.closeFuture.whenComplete { _ in watch.cancel() }
    }

    private func accept(_ server: NIOAsyncChannel<(Connection, PeerCredentials), Never>) async throws {
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await (connection, peer) in inbound.cancelOnGracefulShutdown() {
                    group.addTask { await self.serve(connection, peer: peer) }
                }
                group.cancelAll()
            }
        }
    }

    private func serve(_ connection: Connection, peer: PeerCredentials) async {
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, _ in
                var iterator = inbound.makeAsyncIterator()
                while let part = try await iterator.next() {
                    guard case .head(let head) = part else { continue }
                    let keepAlive = try await respond(to: head, peer: peer, parts: &iterator, channel: channel)
                    if !keepAlive { return }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["calisd.reason": "\(error)"])
        }
    }

    /// Reads the rest of one request, answers it, and says whether the connection stays open.
    private func respond(
        to head: HTTPRequestHead, peer: PeerCredentials,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        channel: any Channel
    ) async throws -> Bool {
        var keepAlive = head.isKeepAlive
        var response: APIResponse
        let started = ContinuousClock.now
        var path: [String] = []
        if let target = APIRequest.parseTarget(head.uri) {
            path = target.path
            var request = APIRequest(
                method: head.method, path: target.path, query: target.query, headers: head.headers, body: [], peer: peer,
                queryPairs: target.pairs)
            if let upload = routes.uploadTarget(request) {
                switch upload {
                case .refused(let error):
                    // Answer at once and close, rather than read a large body only to throw it away.
                    response = error.response
                    keepAlive = false
                case .accepted(let limit):
                    let (result, complete) = try await routes.receiveUpload(request, parts: &parts, limit: limit)
                    response = result
                    if !complete { keepAlive = false }
                }
            } else {
                switch try await readBody(&parts) {
                case .some(let body):
                    request.body = body
                    response = await routes.handle(request)
                case .none:
                    response = APIError(.payloadTooLarge, "too_large", "request bodies are limited to 1 MiB").response
                    keepAlive = false
                }
            }
        } else {
            try await discardBody(&parts)
            response = APIError.badRequest("the request target is not a valid path").response
        }
        routes.context.metrics.observe(path: path, status: response.status.code, duration: ContinuousClock.now - started)
        // Written on the channel and awaited until flushed: closing a connection (Connection: close) drops what
        // is still queued, which cut large answers short under load.
        let parts = response.parts(version: head.version, keepAlive: keepAlive)
        try await channel.eventLoop.flatSubmit {
            let flushed = channel.eventLoop.makePromise(of: Void.self)
            for (index, part) in parts.enumerated() {
                channel.write(part, promise: index == parts.count - 1 ? flushed : nil)
            }
            channel.flush()
            return flushed.futureResult
        }.get()
        return keepAlive
    }

    /// The body, or nil when it is larger than ``maximumBody`` (the rest is then left unread).
    private func readBody(
        _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    ) async throws -> [UInt8]? {
        var body: [UInt8] = []
        while let part = try await parts.next() {
            switch part {
            case .body(let buffer):
                if body.count + buffer.readableBytes > Self.maximumBody { return nil }
                body += buffer.readableBytesView
            case .end: return body
            case .head: return body
            }
        }
        return body
    }

    private func discardBody(_ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator) async throws {
        while let part = try await parts.next() {
            if case .end = part { return }
        }
    }
}

/// Answers a public record read from the kept answers on the connection's event loop, so the most asked-for
/// records cost no task, no hop between threads and no database read; anything else (a miss, a body, a token, any
/// other route) passes on unchanged to the connection's task. It sits after HTTP/1's pipelining handler, which
/// holds a request back until the one before it is answered, so answers keep their order.
final class KeptAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: APIRoutes
    private let peer: PeerCredentials
    /// A kept answer waiting for its request's end.
    private var pending: (head: HTTPRequestHead, response: APIResponse, path: [String], started: ContinuousClock.Instant)?

    init(routes: APIRoutes, peer: PeerCredentials) {
        self.routes = routes
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let started = ContinuousClock.now
            // Only a GET without a body: its end follows its head, and nothing of it is left to read.
            if head.method == .GET, !head.headers.contains(name: "Content-Length"), !head.headers.contains(name: "Transfer-Encoding"),
                let target = APIRequest.parseTarget(head.uri)
            {
                let request = APIRequest(
                    method: head.method, path: target.path, query: target.query, headers: head.headers, body: [], peer: peer,
                    queryPairs: target.pairs)
                if let response = routes.keptAnswer(request) {
                    pending = (head, response, target.path, started)
                    return
                }
            }
            context.fireChannelRead(data)
        case .body:
            context.fireChannelRead(data)
        case .end:
            guard let (head, response, path, started) = pending else { return context.fireChannelRead(data) }
            pending = nil
            let keepAlive = head.isKeepAlive
            routes.context.metrics.observe(path: path, status: response.status.code, duration: ContinuousClock.now - started)
            let parts = response.parts(version: head.version, keepAlive: keepAlive)
            let flushed = context.eventLoop.makePromise(of: Void.self)
            for (index, part) in parts.enumerated() {
                context.write(wrapOutboundOut(part), promise: index == parts.count - 1 ? flushed : nil)
            }
            context.flush()
            if !keepAlive {
                let channel = context.channel
                flushed.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

/// When a connection last sent a request part, and whether a whole request of it waits for its answer. Written
/// by ``ActivityHandler`` and read by the idle watch, both on the connection's event loop.
final class ConnectionActivity: Sendable {
    private let lastActivity = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    private let busy = Atomic<Bool>(false)

    func touch() { lastActivity.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }

    func answering(_ value: Bool) {
        busy.store(value, ordering: .relaxed)
        touch()
    }

    func isIdle(longerThan limit: TimeAmount) -> Bool {
        guard !busy.load(ordering: .relaxed) else { return false }
        let now = NIODeadline.now().uptimeNanoseconds
        let last = lastActivity.load(ordering: .relaxed)
        return now > last && now - last > UInt64(limit.nanoseconds)
    }
}

/// Sits after the HTTP decoder: a decoded head or body part is activity (a head trickled in a byte at a time
/// is not, until it is whole); from a request's end until its answer's end the connection is being answered.
final class ActivityHandler: ChannelDuplexHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let activity: ConnectionActivity

    init(_ activity: ConnectionActivity) { self.activity = activity }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { activity.answering(true) } else { activity.touch() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { activity.answering(false) }
        context.write(data, promise: promise)
    }
}
