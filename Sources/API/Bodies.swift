import APITypes
import Foundation
import MARC
import Store

/// Store views turned into the wire bodies.
enum Bodies {
    /// `2026-11-26T07:36:04Z`. Written digit by digit: String(format:) went through Foundation's formatter on
    /// every field of every answer.
    static func timestamp(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(20)
        func digits(_ value: Int32, _ count: Int) {
            var divisor: Int32 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = max(value, 0)
            if rest >= divisor * 10 { return text.append(contentsOf: String(rest).utf8) }
            for _ in 0..<count {
                text.append(UInt8(ascii: "0") + UInt8((rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4)
        text.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        text.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        text.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        text.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        text.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
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
        return UnionRecordBody(
            id: UnionID.format(view.id), status: view.status, master: master.map { "\($0.member):\($0.localID)" },
            redirectTo: view.redirectTo.map(UnionID.format), createdAt: timestamp(view.createdAt),
            updatedAt: timestamp(view.updatedAt), identifiers: identifiers(view), members: members(view),
            holdings: holdings.map { holding($0, staleBefore: staleBefore) }, sources: view.sources.map { source($0, withRecord: true) })
    }

    /// Every normalised identifier the union record's member records carry, by kind, each list sorted.
    static func identifiers(_ view: UnionRecordView) -> [String: [String]] {
        var identifiers: [String: Set<String>] = [:]
        for source in view.sources {
            for key in MatchKey.decode(source.features ?? "") where identifierKinds.contains(key.kind) {
                identifiers[key.kind, default: []].insert(key.value)
            }
        }
        return identifiers.mapValues { $0.sorted() }
    }

    static func members(_ view: UnionRecordView) -> [String] { Array(Set(view.sources.map(\.member))).sorted() }

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
