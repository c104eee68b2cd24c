import APITypes
import Foundation
import MARC
import Store

/// Store views turned into the wire bodies.
enum Bodies {
    static func timestamp(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    static func file(_ file: SubmittedFile) -> FileBody {
        FileBody(
            id: file.id, member: file.member, name: file.name, sha256: file.sha256, size: file.size, mode: file.mode.rawValue,
            state: file.state.rawValue, reason: file.reason, progress: file.progress, total: file.total,
            counts: .init(
                read: file.read, added: file.added, changed: file.changed, unchanged: file.unchanged, deleted: file.deleted,
                rejected: file.rejected, withdrawn: file.withdrawn),
            receivedAt: timestamp(file.receivedAt), finishedAt: file.finishedAt.map(timestamp))
    }

    static func source(_ view: SourceRecordView, withRecord: Bool) -> SourceRecordBody {
        SourceRecordBody(
            member: view.member, localID: view.localID, unionID: view.unionID.map(UnionID.format), status: view.status,
            flavour: view.flavour, originalEncoding: view.originalEncoding, locked: view.locked,
            updatedAt: timestamp(view.updatedAt), file: view.fileID, record: withRecord ? marcJSON(view.record) : nil)
    }

    static let identifierKinds: Set<String> = ["isbn", "issn", "lccn", "oclc", "csbn", "sysno"]

    static func token(_ token: MemberToken, secret: String? = nil) -> TokenBody {
        TokenBody(
            id: token.id, member: token.member, label: token.label, createdAt: timestamp(token.createdAt), createdBy: token.createdBy,
            revokedAt: token.revokedAt.map(timestamp), token: secret)
    }

    static func refresh(_ policy: RefreshPolicy, harvesting: Set<String> = []) -> RefreshBody {
        let now = CatalogStore.now()
        let state = policy.memberSuspended ? "suspended" : policy.failures > 0 ? "failing" : policy.isOverdue(now: now) ? "overdue" : "ok"
        return RefreshBody(
            member: policy.member, source: policy.source.rawValue, intervalSeconds: policy.intervalSeconds, oaiURL: policy.oaiURL,
            oaiSet: policy.oaiSet, oaiPrefix: policy.oaiPrefix, lastSuccess: policy.lastSuccess.map(timestamp),
            nextDue: timestamp(policy.nextDue), failures: policy.failures, lastError: policy.lastError, state: state,
            harvesting: harvesting.contains(policy.member), lastAttempt: policy.lastAttempt.map(timestamp), harvestFrom: policy.harvestFrom,
            lastHarvest: policy.lastHarvest.flatMap { try? JSONDecoder().decode(HarvestSummary.self, from: Data($0.utf8)) })
    }

    static func holding(_ view: HoldingView, staleBefore: Int64) -> HoldingBody {
        HoldingBody(
            holder: view.holder, unionID: view.unionID.map(UnionID.format), location: view.location, callNumber: view.callNumber,
            items: view.items, summary: view.summary,
            source: .init(
                kind: view.sourceKind, member: view.bibMember, localID: view.sourceLocalID, bibLocalID: view.bibLocalID,
                file: view.fileID, receivedAt: timestamp(view.receivedAt)),
            confirmedAt: timestamp(view.confirmedAt), stale: view.confirmedAt < staleBefore)
    }

    static func union(_ view: UnionRecordView, holdings: [HoldingView] = [], staleBefore: Int64 = 0) -> UnionRecordBody {
        let master = view.sources.first { $0.id == view.masterID }
        var identifiers: [String: Set<String>] = [:]
        for source in view.sources {
            for key in MatchKey.decode(source.features ?? "") where identifierKinds.contains(key.kind) {
                identifiers[key.kind, default: []].insert(key.value)
            }
        }
        return UnionRecordBody(
            id: UnionID.format(view.id), status: view.status, master: master.map { "\($0.member):\($0.localID)" },
            redirectTo: view.redirectTo.map(UnionID.format), createdAt: timestamp(view.createdAt),
            updatedAt: timestamp(view.updatedAt), identifiers: identifiers.mapValues { $0.sorted() },
            members: Array(Set(view.sources.map(\.member))).sorted(), holdings: holdings.map { holding($0, staleBefore: staleBefore) },
            sources: view.sources.map { source($0, withRecord: true) })
    }

    /// The stored ISO 2709 record as MARC-in-JSON (the code4lib form).
    static func marcJSON(_ bytes: [UInt8]) -> JSONValue? {
        guard !bytes.isEmpty, let reader = try? MARCReaders.open(bytes: bytes).reader, let item = try? reader.next(),
            let record = item.record
        else { return nil }
        var fields: [JSONValue] = []
        for field in record.fields {
            let tag = field.tag.string
            if field.isControlField {
                fields.append(.object([(tag, .string(field.value))]))
                continue
            }
            let subfields = field.subfields.map { JSONValue.object([($0.codeString, .string($0.value))]) }
            fields.append(
                .object([
                    (
                        tag,
                        .object([
                            ("ind1", .string(String(decoding: [field.indicator1], as: UTF8.self))),
                            ("ind2", .string(String(decoding: [field.indicator2], as: UTF8.self))),
                            ("subfields", .array(subfields)),
                        ])
                    )
                ]))
        }
        return .object([("leader", .string(record.leader.string)), ("fields", .array(fields))])
    }
}
