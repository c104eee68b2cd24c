import APITypes
import Foundation
import Ingest
import Logging
import MARC
import Store

extension APIRoutes {
    /// `POST /v1/records/merge|split|unlink` (admin): a must-link, a cannot-link, or neither, between two records.
    func link(_ request: APIRequest, action: String) throws -> APIResponse {
        try requireAdmin(request)
        let body: LinkRequestBody
        do {
            body = try JSONDecoder().decode(LinkRequestBody.self, from: Data(request.body))
        } catch {
            throw APIError.badRequest("the body must be JSON {\"a\": \"MEMBER:LOCALID\", \"b\": \"MEMBER:LOCALID\"}")
        }
        let link: LinkOverride? = action == "merge" ? .must : action == "split" ? .cannot : nil
        let (a, b) = try context.store.setLink(
            link, try reference(body.a), try reference(body.b), by: "uid \(request.peer.uid)", matcher: context.ingest.ingestor.matcher)
        logger.notice(
            "admin override",
            metadata: ["calisd.action": "\(action)", "calisd.a": "\(body.a)", "calisd.b": "\(body.b)", "calisd.peer.uid": "\(request.peer.uid)"])
        return .json(LinkResultBody(link: link?.rawValue ?? "none", aUnion: a.map(UnionID.format), bUnion: b.map(UnionID.format)))
    }

    /// `POST /v1/records/lock` (admin).
    func lock(_ request: APIRequest) throws -> APIResponse {
        try requireAdmin(request)
        let body: LockRequestBody
        do {
            body = try JSONDecoder().decode(LockRequestBody.self, from: Data(request.body))
        } catch {
            throw APIError.badRequest("the body must be JSON {\"record\": \"MEMBER:LOCALID\", \"locked\": true|false}")
        }
        let record = try reference(body.record)
        try context.store.setLocked(record, body.locked, by: "uid \(request.peer.uid)")
        logger.notice(
            "admin lock", metadata: ["calisd.record": "\(body.record)", "calisd.locked": "\(body.locked)", "calisd.peer.uid": "\(request.peer.uid)"])
        guard let view = try context.store.sourceRecord(member: record.member, localID: record.localID) else {
            throw APIError.notFound("member \(record.member) has no record \(record.localID)")
        }
        return .json(Bodies.source(view, withRecord: false))
    }

    func reference(_ text: String) throws -> RecordReference {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[1].trimmingSpaces.isEmpty else {
            throw APIError.badRequest("\(text): a record is MEMBER:LOCALID")
        }
        return RecordReference(member: String(parts[0]), localID: String(parts[1].trimmingSpaces))
    }
}

extension APIRoutes {
    /// `GET /v1/review[?state=open|accepted|rejected]` (admin).
    func reviewList(_ request: APIRequest) throws -> APIResponse {
        try requireAdmin(request)
        let state = request.query["state"] ?? "open"
        guard ["open", "accepted", "rejected"].contains(state) else {
            throw APIError.badRequest("state must be open, accepted or rejected")
        }
        return .json(try context.store.reviews(state: state, limit: 1_000).map(Self.reviewBody))
    }

    /// `POST /v1/review/{id}/accept|reject` (admin).
    func reviewDecide(_ request: APIRequest, id text: String, accept: Bool) throws -> APIResponse {
        try requireAdmin(request)
        guard let id = Int64(text), id > 0 else { throw APIError.badRequest("a review id is a positive whole number") }
        let item = try context.store.decideReview(
            id: id, accept: accept, by: "uid \(request.peer.uid)", matcher: context.ingest.ingestor.matcher)
        logger.notice(
            "review decided", metadata: ["calisd.review": "\(id)", "calisd.accept": "\(accept)", "calisd.peer.uid": "\(request.peer.uid)"])
        return .json(Self.reviewBody(item))
    }

    static func reviewBody(_ item: ReviewItem) -> ReviewBody {
        ReviewBody(
            id: item.id, record: item.record.description, unionID: UnionID.format(item.unionID),
            master: item.master?.description, score: item.score, ruleVersion: item.ruleVersion, state: item.state)
    }
}
