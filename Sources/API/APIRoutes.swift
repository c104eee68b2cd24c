import APITypes
import Dedup
import Foundation
import Ingest
import Logging
import MARC
import NIOCore
import NIOHTTP1
import NIOPosix
import Store

#if canImport(Glibc)
import Glibc
#endif

/// The `/v1` routes. Reads go to the catalogue's readers (WAL); writes go through the ingest service's one
/// writer. Every failure becomes a JSON error with its status.
struct APIRoutes: Sendable {
    enum UploadDecision {
        case refused(APIError)
        case accepted(limit: Int64)
    }

    let context: APIContext
    let logger: Logger

    func handle(_ request: APIRequest) async -> APIResponse {
        do {
            return try await route(request)
        } catch let error as APIError {
            return error.response
        } catch let error as StoreError where error.code == .notFound {
            return APIError.notFound(error.message).response
        } catch let error as StoreError where error.code == .invalid || error.code == .conflict {
            return APIError(error.code == .conflict ? .conflict : .unprocessableEntity, error.code.rawValue, error.message).response
        } catch {
            logger.error("request failed", metadata: ["calisd.path": "\(request.path.joined(separator: "/"))", "calisd.reason": "\(error)"])
            return APIError(.internalServerError, "internal", "the request failed; the daemon's log says why").response
        }
    }

    private func route(_ request: APIRequest) async throws -> APIResponse {
        let path = request.path
        if path == ["metrics"] {
            guard request.method == .GET else { throw APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here") }
            return APIResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: try context.metrics.exposition(context))
        }
        if path == ["sru"] || path == ["oai"] {
            // Public reads; a token sent must still be a valid one.
            _ = try Caller.of(request, store: context.store, adminGroup: context.live.current.adminGroup)
            if path == ["oai"] { return OAIProvider(store: context.store, publication: context.publication).respond(request) }
            var parameters = request.query
            if request.method == .POST {
                guard let form = APIRequest.parseForm(Substring(decoding: request.body, as: UTF8.self)) else {
                    throw APIError.badRequest("the body must be application/x-www-form-urlencoded SRU parameters")
                }
                for (name, value) in form { parameters[name] = value }
            } else if request.method != .GET {
                throw APIError(.methodNotAllowed, "method_not_allowed", "SRU requests are GET or POST")
            }
            return SRUService(store: context.store, publicURL: context.publication.publicURL).respond(parameters)
        }
        guard path.first == "v1" else { throw APIError.notFound("no such route; the API is under /v1, SRU at /sru, OAI-PMH at /oai") }
        let caller = try Caller.of(request, store: context.store, adminGroup: context.live.current.adminGroup)
        switch (request.method, Array(path.dropFirst())) {
        case (.GET, ["health"]):
            return .json(HealthBody(status: "ok"))
        case (.GET, ["status"]):
            return .json(try status())
        case (.GET, ["members"]):
            try requireAdmin(request)
            return .json(try context.store.members().map(memberBody))
        case (.POST, ["members"]):
            try requireAdmin(request)
            return try addMember(request)
        case (.GET, let rest) where rest.count == 2 && rest[0] == "members":
            guard let member = try context.store.member(code: rest[1]) else { throw unknownMember(rest[1]) }
            return .json(try memberBody(member))
        case (.POST, let rest) where rest.count == 3 && rest[0] == "members" && (rest[2] == "suspend" || rest[2] == "resume"):
            try requireAdmin(request)
            return try suspend(rest[1], suspended: rest[2] == "suspend", request)
        case (.PATCH, let rest) where rest.count == 2 && rest[0] == "members":
            try requireAdmin(request)
            return try changeMember(rest[1], request)
        case (.GET, let rest) where rest.count == 4 && rest[0] == "members" && rest[2] == "records":
            return try sourceRecord(member: rest[1], localID: rest[3], request)
        case (.GET, let rest) where rest.count == 3 && rest[0] == "members" && rest[2] == "files":
            try caller.requireMemberOrAdmin(rest[1])
            guard try context.store.member(code: rest[1]) != nil else { throw unknownMember(rest[1]) }
            return .json(try context.store.files(member: rest[1], limit: limit(request)).map(Bodies.file))
        case (.GET, ["files"]):
            var member = request.query["member"]
            if case .member(let own) = caller {
                // A member lists its own files only.
                try caller.requireMemberOrAdmin(member ?? own)
                member = own
            } else {
                try requireAdmin(request)
            }
            let state = try request.query["state"].map { text in
                guard let state = SubmittedFile.State(rawValue: text) else {
                    throw APIError.badRequest("state must be one of queued, active, done, held, rejected, failed")
                }
                return state
            }
            return .json(try context.store.files(member: member, state: state, limit: limit(request)).map(Bodies.file))
        case (.GET, let rest) where rest.count == 2 && rest[0] == "files":
            let file = try file(rest[1])
            try caller.requireMemberOrAdmin(file.member)
            return .json(Bodies.file(file))
        case (.GET, let rest) where rest.count == 3 && rest[0] == "files" && rest[2] == "report":
            let file = try file(rest[1])
            try caller.requireMemberOrAdmin(file.member)
            let id = file.id
            guard let report = try context.store.report(ofFile: id) else {
                throw APIError.notFound("file \(id) has no report yet: it is not finished")
            }
            return APIResponse(status: .ok, contentType: APIResponse.jsonType, body: Array(report.utf8) + [0x0A])
        case (.POST, let rest) where rest.count == 3 && rest[0] == "files" && (rest[2] == "approve" || rest[2] == "reject"):
            try requireAdmin(request)
            let id = try file(rest[1]).id
            let decided = try context.ingest.decide(fileID: id, approve: rest[2] == "approve")
            logger.notice(
                "admin decision", metadata: ["calisd.file": "\(id)", "calisd.decision": "\(rest[2])", "calisd.peer.uid": "\(request.peer.uid)"])
            return .json(Bodies.file(decided))
        case (.GET, ["search"]):
            return try search(request)
        case (.POST, let rest) where rest.count == 3 && rest[0] == "members" && rest[2] == "tokens":
            try requireAdmin(request)
            return try createToken(rest[1], request)
        case (.GET, ["tokens"]):
            try requireAdmin(request)
            return .json(try context.store.tokens(member: request.query["member"]).map { Bodies.token($0) })
        case (.POST, let rest) where rest.count == 3 && rest[0] == "tokens" && rest[2] == "revoke":
            try requireAdmin(request)
            guard let id = Int64(rest[1]), id > 0 else { throw APIError.badRequest("a token id is a positive whole number") }
            let revoked = try context.store.revokeToken(id: id, by: "uid \(request.peer.uid)")
            logger.notice("admin token revoked", metadata: ["calisd.token": "\(id)", "calisd.member": "\(revoked.member)", "calisd.peer.uid": "\(request.peer.uid)"])
            return .json(Bodies.token(revoked))
        case (.GET, ["records"]):
            return try lookup(request)
        case (.GET, let rest) where rest.count == 2 && rest[0] == "records":
            return try unionRecord(rest[1], request)
        case (.GET, let rest) where rest.count == 3 && rest[0] == "records" && rest[2] == "holdings":
            return try unionHoldings(rest[1])
        case (.GET, let rest) where rest.count == 3 && rest[0] == "members" && rest[2] == "holdings":
            return try memberHoldings(rest[1], request)
        case (.POST, ["export"]):
            try requireAdmin(request)
            return try await export(request)
        case (.POST, ["backup"]):
            try requireAdmin(request)
            return try await backup(request)
        case (.GET, ["operations"]):
            try requireAdmin(request)
            return .json(context.operations.all.map { OperationBody(id: $0.id, kind: $0.kind, path: $0.path, done: $0.done, total: $0.total) })
        case (.POST, ["prune"]):
            try requireAdmin(request)
            let (store, retention, logger) = (context.store, context.retention, logger)
            let outcome = try await Self.offRequestThreads { try retention.prune(store, logger: logger) }
            logger.notice("admin prune", metadata: ["calisd.peer.uid": "\(request.peer.uid)"])
            return .json(PruneBody(archivedFiles: outcome.archivedFilesRemoved, bytes: outcome.bytesRemoved, changes: outcome.changesRemoved))
        case (.GET, ["verify"]):
            try requireAdmin(request)
            let checks = try context.store.verify(matcher: context.ingest.ingestor.matcher).map { VerifyBody.Check(name: $0.name, ok: $0.ok, detail: $0.detail) }
            return .json(VerifyBody(ok: checks.allSatisfy(\.ok), checks: checks))
        case (.GET, ["changes"]):
            return try changes(request)
        case (.GET, ["refresh"]):
            try requireAdmin(request)
            let harvesting = context.refresh.harvesting()
            return .json(try context.store.refreshPolicies().map { Bodies.refresh($0, harvesting: harvesting) })
        case (.GET, let rest) where rest.count == 2 && rest[0] == "refresh":
            try requireAdmin(request)
            guard let policy = try context.store.refreshPolicies(member: rest[1]).first else {
                throw APIError.notFound("\(rest[1]) has no refresh policy")
            }
            return .json(Bodies.refresh(policy, harvesting: context.refresh.harvesting()))
        case (.POST, let rest) where rest.count == 2 && rest[0] == "refresh":
            try requireAdmin(request)
            let policy = try context.store.requestRefresh(member: rest[1], by: "uid \(request.peer.uid)")
            logger.notice("admin refresh now", metadata: ["calisd.member": "\(rest[1])", "calisd.peer.uid": "\(request.peer.uid)"])
            context.refresh.requested()
            return .json(Bodies.refresh(policy, harvesting: context.refresh.harvesting()), status: .accepted)
        case (.GET, ["why"]):
            return try why(request)
        case (.POST, let rest) where rest.count == 2 && rest[0] == "records" && ["merge", "split", "unlink"].contains(rest[1]):
            return try link(request, action: rest[1])
        case (.POST, ["records", "lock"]):
            return try lock(request)
        case (.GET, ["review"]):
            return try reviewList(request)
        case (.POST, let rest) where rest.count == 3 && rest[0] == "review" && (rest[2] == "accept" || rest[2] == "reject"):
            return try reviewDecide(request, id: rest[1], accept: rest[2] == "accept")
        default:
            if knownPaths(path) { throw APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here") }
            throw APIError.notFound("no such route")
        }
    }

    private func knownPaths(_ path: [String]) -> Bool {
        let rest = Array(path.dropFirst())
        return rest == ["health"] || rest == ["status"] || rest == ["members"] || rest == ["refresh"] || rest == ["changes"] || rest == ["verify"] || rest == ["backup"] || rest == ["export"] || rest == ["files"] || rest == ["why"] || rest == ["review"] || rest == ["search"] || rest == ["tokens"] || rest == ["prune"] || rest == ["operations"]
            || (rest.first == "members" && (2...4).contains(rest.count)) || (rest.first == "files" && (2...3).contains(rest.count))
            || (rest.first == "records" && (1...3).contains(rest.count)) || (rest.first == "refresh" && rest.count == 2)
            || (rest.first == "tokens" && rest.count == 3)
    }

    func requireAdmin(_ request: APIRequest) throws {
        try Caller.of(request, store: context.store, adminGroup: context.live.current.adminGroup).requireAdmin()
    }

    private func unknownMember(_ code: String) -> APIError {
        APIError.notFound("no member \(code); add it with `calisd ctl members add \(code) --name NAME`")
    }

    private func limit(_ request: APIRequest) throws -> Int {
        guard let text = request.query["limit"] else { return 100 }
        guard let value = Int(text), (1...10_000).contains(value) else {
            throw APIError.badRequest("limit must be a whole number from 1 to 10000")
        }
        return value
    }

    private func file(_ text: String) throws -> SubmittedFile {
        guard let id = Int64(text), id > 0 else { throw APIError.badRequest("a file id is a positive whole number") }
        guard let file = try context.store.file(id: id) else { throw APIError.notFound("no file \(id)") }
        return file
    }

    private func status() throws -> StatusBody {
        let counts = try context.store.counts()
        let ingest = context.ingest.status.snapshot
        var size: Int64 = 0
        for suffix in ["", "-wal"] {
            var info = stat()
            if stat(context.databasePath + suffix, &info) == 0 { size += Int64(info.st_size) }
        }
        return StatusBody(
            version: context.version,
            records: .init(source: counts.sourceRecords, union: counts.unionRecords),
            ingest: .init(
                queued: ingest.queued, active: ingest.active,
                current: ingest.current.map { .init(file: $0.fileID, member: $0.member, name: $0.name, done: $0.done, total: $0.total) },
                held: counts.heldFiles, failed: counts.failedFiles, scans: ingest.scans, overflowRescans: ingest.overflowRescans),
            members: counts.members, refresh: try refreshSummary(), reviewOpen: counts.reviewOpen, databaseBytes: size,
            startedAt: Bodies.timestamp(Int64(context.startedAt.timeIntervalSince1970)))
    }

    private func refreshSummary() throws -> StatusBody.Refresh {
        let bodies = try context.store.refreshPolicies().map { Bodies.refresh($0) }
        return .init(overdue: bodies.filter { $0.state == "overdue" }.map(\.member), failing: bodies.filter { $0.state == "failing" }.map(\.member))
    }

    private func memberBody(_ member: Member) throws -> MemberBody {
        MemberBody(
            code: member.code, name: member.name, status: member.status,
            records: try context.store.activeRecordCount(member: member.code),
            files: try context.store.fileCount(member: member.code), priority: member.priority, maySubmitFor: member.maySubmitFor,
            institutionCodes: member.institutionCodes)
    }

    /// `POST /v1/members/{code}/suspend|resume` (admin): `{"reason"}` optional. A resumed member's drop folder is
    /// looked at again at once, and its harvest may run.
    private func suspend(_ code: String, suspended: Bool, _ request: APIRequest) throws -> APIResponse {
        var reason: String?
        if !request.body.isEmpty {
            guard let body = try? JSONDecoder().decode(SuspendBody.self, from: Data(request.body)) else {
                throw APIError.badRequest("the body must be JSON {\"reason\": \"why\"} or empty")
            }
            reason = body.reason
        }
        let member = try context.store.setMemberSuspended(code, suspended: suspended, reason: reason, by: "uid \(request.peer.uid)")
        logger.notice(
            suspended ? "admin member suspended" : "admin member resumed",
            metadata: ["calisd.member": "\(code)", "calisd.reason": "\(reason ?? "-")", "calisd.peer.uid": "\(request.peer.uid)"])
        if !suspended {
            context.ingest.memberAdded(code)
            context.refresh.requested()
        }
        return .json(try memberBody(member))
    }

    /// `POST /v1/members/{code}/tokens` (admin): a new token for the member, shown in this answer only.
    private func createToken(_ code: String, _ request: APIRequest) throws -> APIResponse {
        var label = ""
        if !request.body.isEmpty {
            guard let body = try? JSONDecoder().decode(NewTokenBody.self, from: Data(request.body)) else {
                throw APIError.badRequest("the body must be JSON {\"label\": \"what the token is for\"} or empty")
            }
            label = body.label ?? ""
        }
        guard label.count <= 200, !label.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw APIError.badRequest("label must be at most 200 characters, with no control characters")
        }
        let (token, secret) = try context.store.createToken(member: code, label: label, by: "uid \(request.peer.uid)")
        logger.notice("admin token created", metadata: ["calisd.token": "\(token.id)", "calisd.member": "\(code)", "calisd.peer.uid": "\(request.peer.uid)"])
        return .json(Bodies.token(token, secret: secret), status: .created)
    }

    private func changeMember(_ code: String, _ request: APIRequest) throws -> APIResponse {
        let settings: MemberSettingsBody
        do {
            settings = try JSONDecoder().decode(MemberSettingsBody.self, from: Data(request.body))
        } catch {
            throw APIError.badRequest("the body must be JSON {\"priority\": INTEGER, \"may_submit_for\": [CODE, …]}")
        }
        guard settings.priority != nil || settings.maySubmitFor != nil || settings.institutionCodes != nil || settings.refresh != nil else {
            throw APIError.badRequest("name a setting to change: priority, may_submit_for, institution_codes, refresh")
        }
        guard var member = try context.store.member(code: code) else { throw unknownMember(code) }
        if let refresh = settings.refresh {
            guard let source = RefreshPolicy.Source(rawValue: refresh.source) else {
                throw APIError.badRequest("refresh.source must be drop or oai")
            }
            guard (60...(366 * 86_400)).contains(refresh.intervalSeconds) else {
                throw APIError.badRequest("refresh.interval_seconds must be from 60 (1 minute) to 31622400 (366 days)")
            }
            switch source {
            case .drop:
                guard refresh.oaiURL == nil && refresh.oaiSet == nil && refresh.oaiPrefix == nil else {
                    throw APIError.badRequest("oai_url, oai_set and oai_prefix are for source oai; a drop member sends full snapshots")
                }
                _ = try context.store.setRefreshPolicy(
                    member: code, source: source, intervalSeconds: refresh.intervalSeconds, by: "uid \(request.peer.uid)")
            case .oai:
                guard let url = refresh.oaiURL, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                    parsed.host?.isEmpty == false, parsed.fragment == nil
                else {
                    throw APIError.badRequest("source oai needs oai_url, the provider's http:// or https:// OAI-PMH base URL")
                }
                for (name, value) in [("oai_set", refresh.oaiSet), ("oai_prefix", refresh.oaiPrefix)] {
                    if let value, value.isEmpty || value.contains(where: { $0.isWhitespace || $0.isNewline }) {
                        throw APIError.badRequest("\(name) must be a non-empty value without spaces")
                    }
                }
                _ = try context.store.setRefreshPolicy(
                    member: code, source: source, intervalSeconds: refresh.intervalSeconds, oaiURL: url, oaiSet: refresh.oaiSet,
                    oaiPrefix: refresh.oaiPrefix ?? "marc21", firstDelay: Int64.random(in: 0...min(60, refresh.intervalSeconds / 100)),
                    by: "uid \(request.peer.uid)")
                context.refresh.requested()
            }
            logger.notice(
                "admin member refresh policy",
                metadata: [
                    "calisd.member": "\(code)", "calisd.source": "\(refresh.source)", "calisd.interval": "\(refresh.intervalSeconds)",
                    "calisd.peer.uid": "\(request.peer.uid)",
                ])
        }
        if settings.maySubmitFor != nil || settings.institutionCodes != nil {
            if settings.maySubmitFor?.contains(code) == true {
                throw APIError.badRequest("a member does not submit for itself: leave \(code) out")
            }
            member = try context.store.setHoldingsCodes(
                member: code, maySubmitFor: settings.maySubmitFor, institutionCodes: settings.institutionCodes, by: "uid \(request.peer.uid)")
            logger.notice(
                "admin member holdings codes",
                metadata: [
                    "calisd.member": "\(code)", "calisd.may_submit_for": "\(settings.maySubmitFor?.joined(separator: ",") ?? "-")",
                    "calisd.institution_codes": "\(settings.institutionCodes?.joined(separator: ",") ?? "-")",
                    "calisd.peer.uid": "\(request.peer.uid)",
                ])
        }
        if let priority = settings.priority {
            guard (-1000...1000).contains(priority) else { throw APIError.badRequest("priority must be between -1000 and 1000") }
            let result = try context.store.setPriority(member: code, to: priority, by: "uid \(request.peer.uid)")
            member = result.member
            logger.notice(
                "admin member priority",
                metadata: [
                    "calisd.member": "\(code)", "calisd.priority": "\(priority)", "calisd.masters_changed": "\(result.mastersChanged)",
                    "calisd.peer.uid": "\(request.peer.uid)",
                ])
        }
        return .json(try memberBody(try context.store.member(code: code) ?? member))
    }

    private func addMember(_ request: APIRequest) throws -> APIResponse {
        let body: NewMemberBody
        do {
            body = try JSONDecoder().decode(NewMemberBody.self, from: Data(request.body))
        } catch {
            throw APIError.badRequest("the body must be JSON {\"code\": CODE, \"name\": NAME}")
        }
        guard DropFolder.isMemberCode(body.code) else {
            throw APIError(.unprocessableEntity, "invalid", "member codes are 1-32 letters, digits, '_' or '-'")
        }
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw APIError(.unprocessableEntity, "invalid", "a member's name is 1-200 characters without control characters")
        }
        let member = try context.store.addMember(code: body.code, name: name)
        // The folder appears after the member exists, so the watcher that sees it finds a member.
        let folder = context.dropDirectory + "/" + body.code
        for path in [folder, folder + "/" + DropFolder.reportsFolder] where mkdir(path, 0o2775) != 0 && errno != EEXIST {
            throw APIError(.internalServerError, "io", "member added, but \(path) cannot be created: \(String(cString: strerror(errno)))")
        }
        context.ingest.memberAdded(body.code)
        logger.notice("member added", metadata: ["calisd.member": "\(body.code)", "calisd.peer.uid": "\(request.peer.uid)"])
        return .json(try memberBody(member), status: .created)
    }

    private func sourceRecord(member: String, localID: String, _ request: APIRequest) throws -> APIResponse {
        guard try context.store.member(code: member) != nil else { throw unknownMember(member) }
        let trimmed = String(localID.trimmingSpaces)
        guard let record = try context.store.sourceRecord(member: member, localID: trimmed) else {
            throw APIError.notFound("member \(member) has no record \(trimmed)")
        }
        let format = try RecordFormat.requested(request)
        if format != .json, let marc = MergedRecord.read(record.record) { return try format.response(marc) }
        return .json(Bodies.source(record, withRecord: true))
    }

    private func unionRecord(_ text: String, _ request: APIRequest) throws -> APIResponse {
        let (id, format, key) = try unionRecordTarget(text, request)
        return try answer(key) { now, staleAfter in
            // JSON shows who holds it: read with the record, in the same transaction.
            guard let (union, holdings) = try format == .json ? context.store.unionRecordWithHoldings(id: id) : context.store.unionRecord(id: id).map({ ($0, []) })
            else { throw APIError.notFound("no union record \(text)") }
            // An id merged away answers 301 to its survivor, with its own body naming it for clients that do not follow.
            if let survivor = union.redirectTo {
                var response = APIResponse(status: .movedPermanently, contentType: APIResponse.jsonType, body: RecordJSON.union(union))
                response.location = "/v1/records/" + UnionID.format(survivor)
                return (response, .max)
            }
            if format != .json {
                guard let merged = MergedRecord.build(union) else { throw APIError.notFound("union record \(text) has no readable record") }
                return (try format.response(merged), .max)
            }
            let staleBefore = now - staleAfter
            // The answer holds until its first fresh holding turns stale.
            let turnsStale = holdings.lazy.filter { $0.confirmedAt >= staleBefore }.map { $0.confirmedAt + staleAfter }.min() ?? .max
            let body = RecordJSON.union(union, holdings: holdings, staleBefore: staleBefore)
            return (APIResponse(status: .ok, contentType: APIResponse.jsonType, body: body), turnsStale)
        }
    }

    private func unionRecordTarget(_ text: String, _ request: APIRequest) throws -> (id: Int64, format: RecordFormat, key: String) {
        guard let id = UnionID.parse(text) else { throw APIError.badRequest("a union id is CAL followed by digits") }
        let format = try RecordFormat.requested(request)
        return (id, format, "union:\(id):\(format)")
    }

    /// `GET /v1/records?isbn=…` (or `issn`, `lccn`, `oclc`): the union records carrying that identifier, found by
    /// its normal form (an ISBN in either form, with or without hyphens).
    private func lookup(_ request: APIRequest) throws -> APIResponse {
        let (key, matchKey) = try lookupTarget(request)
        return try answer(key) { _, _ in
            let unions = try context.store.unionRecords(withKey: matchKey)
            return (APIResponse(status: .ok, contentType: APIResponse.jsonType, body: RecordJSON.list(unions)), .max)
        }
    }

    private func lookupTarget(_ request: APIRequest) throws -> (key: String, matchKey: MatchKey) {
        let kinds: [(String, (String) -> String?)] = [
            ("isbn", Identifiers.isbn13), ("issn", Identifiers.issn), ("lccn", Identifiers.lccn),
            ("oclc", { Identifiers.oclc("(OCoLC)" + $0.trimmingSpaces) }),
        ]
        let given = kinds.filter { request.query[$0.0] != nil }
        guard given.count == 1, let (kind, normalise) = given.first, let text = request.query[kind] else {
            throw APIError.badRequest("look a record up by one identifier: ?isbn=, ?issn=, ?lccn= or ?oclc=")
        }
        guard let value = normalise(text) else {
            throw APIError.badRequest("\(text) is not a valid \(kind.uppercased()) (check its digits)")
        }
        return ("\(kind):\(value)", MatchKey(kind, value))
    }

    /// The kept answer to a public record read (`GET /v1/records/{id}` in any format, `GET /v1/records?isbn=…`)
    /// when one is current, found without the database; nil sends the request the usual way. The server asks this
    /// on the connection's event loop, before a task is made. A request with a token goes the usual way, which
    /// checks the token.
    func keptAnswer(_ request: APIRequest) -> APIResponse? {
        let path = request.path
        guard context.answers.isEnabled, request.method == .GET, path.count == 2 || path.count == 3, path[0] == "v1", path[1] == "records",
            request.headers.first(name: "Authorization") == nil
        else { return nil }
        let key = path.count == 3 ? (try? unionRecordTarget(path[2], request))?.key : (try? lookupTarget(request))?.key
        guard let key else { return nil }
        return context.answers.answer(
            key, commit: context.store.commits.value, now: CatalogStore.now(), staleAfter: context.live.current.staleAfterSeconds)
    }

    /// The kept answer for `key` while the catalogue is as it was when it was built; otherwise `build`'s, kept when it
    /// is a 200 or a redirect. `build` gets the time and the stale-after setting to build with, and gives the moment
    /// its answer goes out of date (`.max` for never, short of a commit).
    private func answer(
        _ key: String, build: (_ now: Int64, _ staleAfter: Int64) throws -> (APIResponse, validUntil: Int64)
    ) throws -> APIResponse {
        // Taken before the reads, so a commit during them leaves the answer already out of date.
        let commit = context.store.commits.value
        let now = CatalogStore.now()
        let staleAfter = context.live.current.staleAfterSeconds
        if let kept = context.answers.answer(key, commit: commit, now: now, staleAfter: staleAfter) { return kept }
        let (response, validUntil) = try build(now, staleAfter)
        if response.status == .ok || response.status == .movedPermanently {
            context.answers.keep(key, .init(response: response, commit: commit, validUntil: validUntil, staleAfter: staleAfter))
        }
        return response
    }

    /// `POST /v1/backup` (admin): SQLite's online backup of the catalogue to a path the daemon writes, while it
    /// serves. Off the request threads: a large catalogue takes minutes.
    private func backup(_ request: APIRequest) async throws -> APIResponse {
        let body: BackupRequestBody
        do {
            body = try JSONDecoder().decode(BackupRequestBody.self, from: Data(request.body))
        } catch {
            throw APIError.badRequest("the body must be JSON {\"path\": \"/absolute/file.sqlite\", \"replace\": false}")
        }
        try checkTarget(body.path, replace: body.replace, command: "backup")
        let store = context.store
        let logger = self.logger
        let started = Date()
        let operations = context.operations
        let operation = operations.start("backup", path: body.path, total: try? store.pageCount())
        defer { operations.finish(operation) }
        let pages = try await Self.offRequestThreads {
            var reported = 0
            return try store.backup(to: body.path) { done, total in
                operations.update(operation, done: done, total: total)
                let tenth = total > 0 ? done * 10 / total : 10
                if tenth > reported {
                    reported = tenth
                    logger.info("backup progress", metadata: ["calisd.path": "\(body.path)", "calisd.percent": "\(tenth * 10)"])
                }
            }
        }
        var info = stat()
        let bytes = stat(body.path, &info) == 0 ? Int64(info.st_size) : 0
        logger.notice(
            "admin backup", metadata: ["calisd.path": "\(body.path)", "calisd.bytes": "\(bytes)", "calisd.peer.uid": "\(request.peer.uid)"])
        return .json(BackupBody(path: body.path, bytes: bytes, pages: pages, seconds: Date().timeIntervalSince(started)))
    }

    /// Runs minutes-long work (a backup, an export) on a Dispatch thread, not on the threads that serve requests.
    private static func offRequestThreads<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try work() }) }
        }
    }

    /// A file the daemon is asked to write: an absolute path in an existing folder it may write, not the
    /// catalogue, not an existing file unless it may be replaced.
    private func checkTarget(_ path: String, replace: Bool, command: String) throws {
        guard path.hasPrefix("/"), !path.hasSuffix("/") else { throw APIError.badRequest("path: an absolute file path") }
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw APIError.badRequest("\(directory) does not exist: the file goes into an existing folder")
        }
        guard access(directory, W_OK) == 0 else {
            throw APIError.badRequest("the daemon cannot write to \(directory): choose a folder its user may write")
        }
        let catalogue = URL(fileURLWithPath: context.databasePath).standardizedFileURL.path
        guard URL(fileURLWithPath: path).standardizedFileURL.path != catalogue else {
            throw APIError.badRequest("that is the catalogue itself: choose another path")
        }
        if FileManager.default.fileExists(atPath: path) && !replace {
            throw APIError(.conflict, "conflict", "\(path) exists: choose another path, or replace it (calisd ctl \(command) --force)")
        }
    }

    /// `POST /v1/export` (admin): the catalogue, or one member's records, streamed to a file the daemon writes,
    /// beside it first and renamed when complete; progress in the log.
    private func export(_ request: APIRequest) async throws -> APIResponse {
        let body: ExportRequestBody
        do {
            body = try JSONDecoder().decode(ExportRequestBody.self, from: Data(request.body))
        } catch {
            throw APIError.badRequest("the body must be JSON {\"path\", \"format\": \"iso2709|marcxml|json\", \"member\", \"replace\"}")
        }
        let format: MARCFormat
        switch body.format {
        case "iso2709": format = .iso2709
        case "marcxml": format = .marcxml
        case "json": format = .json
        default: throw APIError.badRequest("format: iso2709, marcxml or json")
        }
        if let member = body.member, try context.store.member(code: member) == nil { throw unknownMember(member) }
        try checkTarget(body.path, replace: body.replace, command: "export")
        let store = context.store
        let logger = self.logger
        let started = Date()
        let total = try body.member.map { try store.activeRecordCount(member: $0) } ?? store.counts().unionRecords
        let operations = context.operations
        let operation = operations.start("export", path: body.path, total: total)
        defer { operations.finish(operation) }
        let records = try await Self.offRequestThreads {
            try Self.writeExport(store, body, format: format, logger: logger) { operations.update(operation, done: $0, total: nil) }
        }
        var info = stat()
        let bytes = stat(body.path, &info) == 0 ? Int64(info.st_size) : 0
        logger.notice(
            "admin export",
            metadata: [
                "calisd.path": "\(body.path)", "calisd.records": "\(records)", "calisd.member": "\(body.member ?? "all")",
                "calisd.peer.uid": "\(request.peer.uid)",
            ])
        return .json(ExportBody(path: body.path, records: records, bytes: bytes, seconds: Date().timeIntervalSince(started)))
    }

    private static func writeExport(
        _ store: CatalogStore, _ body: ExportRequestBody, format: MARCFormat, logger: Logger, progress: (Int) -> Void
    ) throws -> Int {
        let partial = body.path + ".calisd-partial"
        guard let file = fopen(partial, "wb") else {
            throw APIError.badRequest("cannot create \(partial): \(String(cString: strerror(errno)))")
        }
        var closed = false
        defer {
            if !closed {
                fclose(file)
                unlink(partial)
            }
        }
        let writer = MARCStreamWriter(format: format)
        var buffer: [UInt8] = []
        var count = 0
        func flush(force: Bool) throws {
            guard force || buffer.count >= 1 << 20 else { return }
            guard buffer.isEmpty || fwrite(buffer, 1, buffer.count, file) == buffer.count else {
                throw APIError(.internalServerError, "internal", "cannot write \(partial): \(String(cString: strerror(errno)))")
            }
            buffer.removeAll(keepingCapacity: true)
        }
        func add(_ record: MARCRecord) throws {
            try writer.write(record, into: &buffer)
            count += 1
            if count % 1_000 == 0 { progress(count) }
            if count % 100_000 == 0 { logger.info("export progress", metadata: ["calisd.path": "\(body.path)", "calisd.records": "\(count)"]) }
            try flush(force: false)
        }
        writer.writeHeader(into: &buffer)
        if let member = body.member {
            try store.forEachSourceRecord(member: member) { view in
                if let record = MergedRecord.read(view.record) { try add(record) }
            }
        } else {
            try store.forEachUnionRecord { union in
                if let record = MergedRecord.build(union) { try add(record) }
            }
        }
        writer.writeFooter(into: &buffer)
        try flush(force: true)
        closed = true
        guard fclose(file) == 0, rename(partial, body.path) == 0 else {
            unlink(partial)
            throw APIError(.internalServerError, "internal", "cannot put the export in place at \(body.path)")
        }
        return count
    }

    /// `GET /v1/changes?since=SEQ&limit=N`: every change after SEQ in sequence order. A SEQ older than the log
    /// holds gets 410, with the oldest sequence left: the mirror must start again from a full export.
    private func changes(_ request: APIRequest) throws -> APIResponse {
        var since: Int64 = 0
        if let text = request.query["since"] {
            guard let value = Int64(text), value >= 0 else { throw APIError.badRequest("since: a sequence number, 0 or more") }
            since = value
        }
        let count = try limit(request)
        let range = try context.store.changeRange()
        if let range, since > 0, since < range.oldest - 1 {
            throw APIError(
                .gone, "gone",
                "the change log no longer holds what follows \(since): it starts at \(range.oldest); mirror again from a full export, then follow from \(range.oldest - 1)")
        }
        let entries = try context.store.changes(since: since, limit: count)
        let body = ChangesBody(
            changes: entries.map { entry in
                ChangesBody.Change(
                    seq: entry.seq, at: Bodies.timestamp(entry.at), kind: entry.kind, unionID: entry.unionID.map(UnionID.format),
                    member: entry.member, localID: entry.localID,
                    detail: entry.detail.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) })
            },
            next: entries.last?.seq ?? since, latest: range?.latest ?? 0)
        return .json(body)
    }

    /// `GET /v1/records/{unionId}/holdings`: who holds it, where.
    private func unionHoldings(_ text: String) throws -> APIResponse {
        guard let id = UnionID.parse(text) else { throw APIError.badRequest("a union id is CAL followed by digits") }
        guard try context.store.unionRecord(id: id) != nil else { throw APIError.notFound("no union record \(text)") }
        let stale = staleBefore
        return .json(HoldingsPageBody(holdings: try context.store.holdings(unionID: id).map { Bodies.holding($0, staleBefore: stale) }, next: nil))
    }

    /// `GET /v1/members/{code}/holdings?cursor=&limit=`: a member's holdings, paged.
    private func memberHoldings(_ code: String, _ request: APIRequest) throws -> APIResponse {
        guard try context.store.member(code: code) != nil else { throw unknownMember(code) }
        var cursor: HoldingsCursor?
        if let token = request.query["cursor"] {
            guard let parsed = HoldingsCursor(token: token) else {
                throw APIError.badRequest("cursor: use the `next` value of the previous page as it was given")
            }
            cursor = parsed
        }
        let page = try context.store.holdings(holder: code, after: cursor, limit: try limit(request))
        let stale = staleBefore
        return .json(HoldingsPageBody(holdings: page.holdings.map { Bodies.holding($0, staleBefore: stale) }, next: page.next?.token))
    }

    /// Holdings confirmed before this time are stale.
    private var staleBefore: Int64 { CatalogStore.now() - context.live.current.staleAfterSeconds }
}
