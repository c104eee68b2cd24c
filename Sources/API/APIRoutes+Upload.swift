import APITypes
import Foundation
import Ingest
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Store

#if canImport(Glibc)
import Glibc
#endif

extension APIRoutes {
    /// Whether the request is an upload (`POST /v1/members/{code}/files`), and if so whether it may go on: decided
    /// from the head, before a byte of the body is read.
    func uploadTarget(_ request: APIRequest) -> UploadDecision? {
        let path = request.path
        guard request.method == .POST, path.count == 4, path[0] == "v1", path[1] == "members", path[3] == "files" else {
            return nil
        }
        do {
            try Caller.of(request, store: context.store, adminGroup: context.live.current.adminGroup).requireMemberOrAdmin(path[2])
        } catch let error as APIError {
            return .refused(error)
        } catch {
            return .refused(APIError(.internalServerError, "internal", "the catalogue cannot be read"))
        }
        do {
            guard let member = try context.store.member(code: path[2]) else {
                return .refused(.notFound("no member \(path[2]); add it with `calisd ctl members add \(path[2]) --name NAME`"))
            }
            if member.isSuspended {
                return .refused(APIError(.conflict, "suspended", "member \(path[2]) is suspended: calisd ctl members resume \(path[2]) first"))
            }
        } catch {
            return .refused(APIError(.internalServerError, "internal", "the catalogue cannot be read"))
        }
        if let error = Self.checkUploadName(uploadName(request)) { return .refused(error) }
        if let declared = request.headers.first(name: "Content-Length").flatMap(Int64.init), declared > context.live.current.maximumUploadBytes {
            return .refused(tooLarge)
        }
        return .accepted(limit: context.live.current.maximumUploadBytes)
    }

    private var tooLarge: APIError {
        APIError(.payloadTooLarge, "too_large", "uploads are limited to \(context.live.current.maximumUploadBytes >> 20) MiB (api.max_upload_mb)")
    }

    /// The file's name: `?name=`, else a name made from the time. It decides the mode (`.full.`, `.delete.txt`).
    func uploadName(_ request: APIRequest) -> String {
        request.query["name"] ?? "upload-\(Int(Date().timeIntervalSince1970)).mrc"
    }

    static func checkUploadName(_ name: String) -> APIError? {
        if name.isEmpty || name.utf8.count > 255 || name.hasPrefix(".") || name.contains("/") || name.contains("\\")
            || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            return APIError.badRequest("name must be 1-255 bytes, not start with '.', with no '/', '\\' or control characters")
        }
        return nil
    }

    /// Streams the body into the uploads folder, then hands the complete file to the ingest pipeline.
    /// - Returns: the response, and whether the body was read to its end (otherwise the connection closes).
    func receiveUpload(
        _ request: APIRequest, parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator, limit: Int64
    ) async throws -> (APIResponse, Bool) {
        let member = request.path[2]
        let name = uploadName(request)
        let path = context.uploadsDirectory + "/" + StateFolders.uniqueName(for: name)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            return (APIError(.internalServerError, "io", "cannot store the upload: \(String(cString: strerror(errno)))").response, false)
        }
        var size: Int64 = 0
        var failure: APIError?
        var complete = false
        reading: while let part = try await parts.next() {
            switch part {
            case .body(let buffer):
                size += Int64(buffer.readableBytes)
                if size > limit {
                    failure = tooLarge
                    break reading
                }
                let ok = buffer.withUnsafeReadableBytes { raw -> Bool in
                    var written = 0
                    while written < raw.count {
                        let result = write(descriptor, raw.baseAddress! + written, raw.count - written)
                        if result < 0 {
                            if errno == EINTR { continue }
                            return false
                        }
                        written += result
                    }
                    return true
                }
                if !ok {
                    failure = APIError(.insufficientStorage, "io", "cannot store the upload: \(String(cString: strerror(errno)))")
                    break reading
                }
            case .end:
                complete = true
                break reading
            case .head:
                break reading
            }
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        if failure == nil && !complete { failure = APIError.badRequest("the upload ended before its body did") }
        if failure == nil && !synced { failure = APIError(.insufficientStorage, "io", "cannot store the upload: sync failed") }
        if let failure {
            unlink(path)
            return (failure.response, false)
        }
        do {
            // Hashing a large file is blocking work: keep it off the event loops and the cooperative pool.
            let ingest = context.ingest
            let id = try await NIOThreadPool.singleton.runIfActive {
                try ingest.submit(received: path, member: member, name: name)
            }
            guard let file = try context.store.file(id: id) else { throw APIError.notFound("no file \(id)") }
            logger.info("file uploaded", metadata: ["calisd.file": "\(id)", "calisd.member": "\(member)", "calisd.bytes": "\(size)"])
            return (.json(Bodies.file(file), status: .accepted), true)
        } catch {
            unlink(path)
            return (APIError(.internalServerError, "ingest", "the upload cannot be queued: \(error)").response, true)
        }
    }
}
