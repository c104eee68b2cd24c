/// The JSON the socket API speaks, shared by the server and `calisd ctl`. Keys are snake_case on the wire.

public struct APIErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail
    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}

public struct HealthBody: Codable, Sendable, Equatable {
    public var status: String
    public init(status: String) { self.status = status }
}

public struct StatusBody: Codable, Sendable, Equatable {
    public struct Records: Codable, Sendable, Equatable {
        public var source: Int
        public var union: Int
        public init(source: Int, union: Int) {
            self.source = source
            self.union = union
        }
    }

    public struct Current: Codable, Sendable, Equatable {
        public var file: Int64
        public var member: String
        public var name: String
        public var done: Int
        public var total: Int?
        public init(file: Int64, member: String, name: String, done: Int, total: Int?) {
            self.file = file
            self.member = member
            self.name = name
            self.done = done
            self.total = total
        }
    }

    public struct Ingest: Codable, Sendable, Equatable {
        public var queued: Int
        public var active: Int
        public var current: Current?
        public var held: Int
        public var failed: Int
        public var scans: Int
        public var overflowRescans: Int
        public init(queued: Int, active: Int, current: Current?, held: Int, failed: Int, scans: Int, overflowRescans: Int) {
            self.queued = queued
            self.active = active
            self.current = current
            self.held = held
            self.failed = failed
            self.scans = scans
            self.overflowRescans = overflowRescans
        }
        enum CodingKeys: String, CodingKey {
            case queued, active, current, held, failed, scans
            case overflowRescans = "overflow_rescans"
        }
    }

    /// Members whose refresh is overdue or failing.
    public struct Refresh: Codable, Sendable, Equatable {
        public var overdue: [String]
        public var failing: [String]
        public init(overdue: [String], failing: [String]) {
            self.overdue = overdue
            self.failing = failing
        }
    }

    public var version: String
    public var records: Records
    public var ingest: Ingest
    public var members: Int
    public var refresh: Refresh
    /// Near misses waiting in the review queue.
    public var reviewOpen: Int
    public var databaseBytes: Int64
    public var startedAt: String

    public init(
        version: String, records: Records, ingest: Ingest, members: Int, refresh: Refresh = .init(overdue: [], failing: []),
        reviewOpen: Int = 0, databaseBytes: Int64, startedAt: String
    ) {
        self.reviewOpen = reviewOpen
        self.version = version
        self.records = records
        self.ingest = ingest
        self.members = members
        self.refresh = refresh
        self.databaseBytes = databaseBytes
        self.startedAt = startedAt
    }

    enum CodingKeys: String, CodingKey {
        case version, records, ingest, members, refresh
        case reviewOpen = "review_open"
        case databaseBytes = "database_bytes"
        case startedAt = "started_at"
    }
}

public struct MemberBody: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var status: String
    public var records: Int
    public var files: Int
    /// Among source records of equal quality, the higher priority's is master.
    public var priority: Int
    /// The members this one may submit holdings for (a provincial centre).
    public var maySubmitFor: [String]
    /// The institution codes its holdings fields name it by, besides its code.
    public var institutionCodes: [String]
    public init(
        code: String, name: String, status: String, records: Int, files: Int, priority: Int, maySubmitFor: [String] = [],
        institutionCodes: [String] = []
    ) {
        self.code = code
        self.name = name
        self.status = status
        self.records = records
        self.files = files
        self.priority = priority
        self.maySubmitFor = maySubmitFor
        self.institutionCodes = institutionCodes
    }
    enum CodingKeys: String, CodingKey {
        case code, name, status, records, files, priority
        case maySubmitFor = "may_submit_for"
        case institutionCodes = "institution_codes"
    }
}

/// A page of the change log: `next` is the `since` of the following page; `latest` the newest sequence now.
public struct ChangesBody: Codable, Sendable, Equatable {
    public struct Change: Codable, Sendable, Equatable {
        public var seq: Int64
        public var at: String
        public var kind: String
        public var unionID: String?
        public var member: String?
        public var localID: String?
        public var detail: JSONValue?
        public init(seq: Int64, at: String, kind: String, unionID: String?, member: String?, localID: String?, detail: JSONValue?) {
            self.seq = seq
            self.at = at
            self.kind = kind
            self.unionID = unionID
            self.member = member
            self.localID = localID
            self.detail = detail
        }
        enum CodingKeys: String, CodingKey {
            case seq, at, kind, member, detail
            case unionID = "union_id"
            case localID = "local_id"
        }
    }

    public var changes: [Change]
    public var next: Int64
    public var latest: Int64
    public init(changes: [Change], next: Int64, latest: Int64) {
        self.changes = changes
        self.next = next
        self.latest = latest
    }
}

/// `POST /v1/backup`: where to write the copy (an absolute path the daemon can write), and whether an
/// existing file there may be replaced.
public struct BackupRequestBody: Codable, Sendable, Equatable {
    public var path: String
    public var replace: Bool
    public init(path: String, replace: Bool = false) {
        self.path = path
        self.replace = replace
    }
}

/// `POST /v1/export`: the whole catalogue (one record per union record, as for copy cataloguing) or one
/// member's records as it sent them, to a path the daemon writes, in `iso2709`, `marcxml` or `json`.
public struct ExportRequestBody: Codable, Sendable, Equatable {
    public var path: String
    public var format: String
    public var member: String?
    public var replace: Bool
    public init(path: String, format: String, member: String? = nil, replace: Bool = false) {
        self.path = path
        self.format = format
        self.member = member
        self.replace = replace
    }
}

/// What an export wrote.
public struct ExportBody: Codable, Sendable, Equatable {
    public var path: String
    public var records: Int
    public var bytes: Int64
    public var seconds: Double
    public init(path: String, records: Int, bytes: Int64, seconds: Double) {
        self.path = path
        self.records = records
        self.bytes = bytes
        self.seconds = seconds
    }
}

/// What a backup wrote.
public struct BackupBody: Codable, Sendable, Equatable {
    public var path: String
    public var bytes: Int64
    public var pages: Int
    public var seconds: Double
    public init(path: String, bytes: Int64, pages: Int, seconds: Double) {
        self.path = path
        self.bytes = bytes
        self.pages = pages
        self.seconds = seconds
    }
}

/// `GET /v1/verify`: each check and whether it holds.
public struct VerifyBody: Codable, Sendable, Equatable {
    public struct Check: Codable, Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String
        public init(name: String, ok: Bool, detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var ok: Bool
    public var checks: [Check]
    public init(ok: Bool, checks: [Check]) {
        self.ok = ok
        self.checks = checks
    }
}

/// Union records found by a lookup.
/// A page of search results, best first, and the cursor of the next page.
public struct SearchResultsBody: Codable, Sendable, Equatable {
    /// One union record found: what its master says, and who holds it.
    public struct Hit: Codable, Sendable, Equatable {
        public var id: String
        public var title: String?
        public var vernacularTitle: String?
        public var author: String?
        public var publisher: String?
        public var year: String?
        public var members: [String]
        public var score: Double
        public init(
            id: String, title: String?, vernacularTitle: String?, author: String?, publisher: String?, year: String?, members: [String],
            score: Double
        ) {
            self.id = id
            self.title = title
            self.vernacularTitle = vernacularTitle
            self.author = author
            self.publisher = publisher
            self.year = year
            self.members = members
            self.score = score
        }
        enum CodingKeys: String, CodingKey {
            case id, title, author, publisher, year, members, score
            case vernacularTitle = "vernacular_title"
        }
    }

    public var records: [Hit]
    public var next: String?
    public init(records: [Hit], next: String?) {
        self.records = records
        self.next = next
    }
}

public struct UnionListBody: Codable, Sendable, Equatable {
    public var records: [UnionRecordBody]
    public init(records: [UnionRecordBody]) {
        self.records = records
    }
}

/// One holding: who holds it, where and what, and where calisd read it.
public struct HoldingBody: Codable, Sendable, Equatable {
    public struct Source: Codable, Sendable, Equatable {
        /// `bib` (the bib's 852/866-868 or 905), `mfhd` (a holdings record) or `record` (a bib without holdings
        /// fields: held by its member).
        public var kind: String
        public var member: String
        public var localID: String
        public var bibLocalID: String
        public var file: Int64?
        public var receivedAt: String
        public init(kind: String, member: String, localID: String, bibLocalID: String, file: Int64?, receivedAt: String) {
            self.kind = kind
            self.member = member
            self.localID = localID
            self.bibLocalID = bibLocalID
            self.file = file
            self.receivedAt = receivedAt
        }
        enum CodingKeys: String, CodingKey {
            case kind, member, file
            case localID = "local_id"
            case bibLocalID = "bib_local_id"
            case receivedAt = "received_at"
        }
    }

    public var holder: String
    public var unionID: String?
    public var location: String?
    public var callNumber: String?
    public var items: Int?
    public var summary: String?
    public var source: Source
    /// When its member last sent it; stale when that is longer ago than `[holdings] stale_after_days`.
    public var confirmedAt: String
    public var stale: Bool
    public init(
        holder: String, unionID: String?, location: String?, callNumber: String?, items: Int?, summary: String?, source: Source,
        confirmedAt: String, stale: Bool
    ) {
        self.holder = holder
        self.unionID = unionID
        self.location = location
        self.callNumber = callNumber
        self.items = items
        self.summary = summary
        self.source = source
        self.confirmedAt = confirmedAt
        self.stale = stale
    }
    enum CodingKeys: String, CodingKey {
        case holder, location, items, summary, source, stale
        case unionID = "union_id"
        case callNumber = "call_number"
        case confirmedAt = "confirmed_at"
    }
}

/// A page of holdings; `next` is the cursor for the following page, absent on the last.
public struct HoldingsPageBody: Codable, Sendable, Equatable {
    public var holdings: [HoldingBody]
    public var next: String?
    public init(holdings: [HoldingBody], next: String?) {
        self.holdings = holdings
        self.next = next
    }
}

/// `PATCH /v1/members/{code}`: the settings to change; absent ones stay as they are.
public struct MemberSettingsBody: Codable, Sendable, Equatable {
    public struct Refresh: Codable, Sendable, Equatable {
        public var source: String
        public var intervalSeconds: Int64
        public var oaiURL: String?
        public var oaiSet: String?
        public var oaiPrefix: String?
        public init(source: String, intervalSeconds: Int64, oaiURL: String? = nil, oaiSet: String? = nil, oaiPrefix: String? = nil) {
            self.source = source
            self.intervalSeconds = intervalSeconds
            self.oaiURL = oaiURL
            self.oaiSet = oaiSet
            self.oaiPrefix = oaiPrefix
        }
        enum CodingKeys: String, CodingKey {
            case source
            case intervalSeconds = "interval_seconds"
            case oaiURL = "oai_url"
            case oaiSet = "oai_set"
            case oaiPrefix = "oai_prefix"
        }
    }

    public var priority: Int?
    public var maySubmitFor: [String]?
    public var institutionCodes: [String]?
    public var refresh: Refresh?
    public init(priority: Int? = nil, maySubmitFor: [String]? = nil, institutionCodes: [String]? = nil, refresh: Refresh? = nil) {
        self.priority = priority
        self.maySubmitFor = maySubmitFor
        self.institutionCodes = institutionCodes
        self.refresh = refresh
    }
    enum CodingKeys: String, CodingKey {
        case priority, refresh
        case maySubmitFor = "may_submit_for"
        case institutionCodes = "institution_codes"
    }
}

/// A member's refresh policy and where it stands: `ok`, `overdue` (nothing received or harvested by `next_due`)
/// or `failing` (the last harvests failed).
public struct RefreshBody: Codable, Sendable, Equatable {
    public var member: String
    public var source: String
    public var intervalSeconds: Int64
    public var oaiURL: String?
    public var oaiSet: String?
    public var oaiPrefix: String?
    public var lastSuccess: String?
    public var nextDue: String
    public var failures: Int
    public var lastError: String?
    public var state: String
    /// A harvest of this member is running now.
    public var harvesting: Bool
    /// When the last harvest started.
    public var lastAttempt: String?
    /// The `from` of the next harvest (none: everything).
    public var harvestFrom: String?
    /// What the last successful harvest took.
    public var lastHarvest: HarvestSummary?
    public init(
        member: String, source: String, intervalSeconds: Int64, oaiURL: String?, oaiSet: String?, oaiPrefix: String?,
        lastSuccess: String?, nextDue: String, failures: Int, lastError: String?, state: String, harvesting: Bool = false,
        lastAttempt: String? = nil, harvestFrom: String? = nil, lastHarvest: HarvestSummary? = nil
    ) {
        self.harvesting = harvesting
        self.lastAttempt = lastAttempt
        self.harvestFrom = harvestFrom
        self.lastHarvest = lastHarvest
        self.member = member
        self.source = source
        self.intervalSeconds = intervalSeconds
        self.oaiURL = oaiURL
        self.oaiSet = oaiSet
        self.oaiPrefix = oaiPrefix
        self.lastSuccess = lastSuccess
        self.nextDue = nextDue
        self.failures = failures
        self.lastError = lastError
        self.state = state
    }
    enum CodingKeys: String, CodingKey {
        case member, source, failures, state
        case intervalSeconds = "interval_seconds"
        case oaiURL = "oai_url"
        case oaiSet = "oai_set"
        case oaiPrefix = "oai_prefix"
        case lastSuccess = "last_success"
        case nextDue = "next_due"
        case lastError = "last_error"
        case harvesting
        case lastAttempt = "last_attempt"
        case harvestFrom = "harvest_from"
        case lastHarvest = "last_harvest"
    }
}

/// What one harvest took, kept as the member's `last_harvest`.
public struct HarvestSummary: Codable, Sendable, Equatable {
    public init(
        from: String? = nil, until: String? = nil, records: Int = 0, deleted: Int = 0, unknownDeletions: Int = 0, notMARC: Int = 0,
        pages: Int = 0, retries: Int = 0, restarts: Int = 0, files: [Int64] = [], seconds: Double = 0
    ) {
        self.from = from
        self.until = until
        self.records = records
        self.deleted = deleted
        self.unknownDeletions = unknownDeletions
        self.notMARC = notMARC
        self.pages = pages
        self.retries = retries
        self.restarts = restarts
        self.files = files
        self.seconds = seconds
    }

    public var from: String?
    public var until: String?
    public var records: Int
    public var deleted: Int
    /// Deleted headers for identifiers calisd never harvested: nothing of the member's to delete.
    public var unknownDeletions: Int
    /// Records whose metadata is not a MARCXML record: not ingested.
    public var notMARC: Int
    public var pages: Int
    /// Requests tried again after a transient failure.
    public var retries: Int
    /// Lists started again after badResumptionToken.
    public var restarts: Int
    public var files: [Int64]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case from, until, records, deleted, pages, retries, restarts, files, seconds
        case unknownDeletions = "unknown_deletions"
        case notMARC = "not_marc"
    }
}


public struct SuspendBody: Codable, Sendable, Equatable {
    public var reason: String?
    public init(reason: String?) { self.reason = reason }
}

/// What a prune removed.
public struct PruneBody: Codable, Sendable, Equatable {
    public var archivedFiles: Int
    public var bytes: Int64
    public var changes: Int
    public init(archivedFiles: Int, bytes: Int64, changes: Int) {
        self.archivedFiles = archivedFiles
        self.bytes = bytes
        self.changes = changes
    }
    enum CodingKeys: String, CodingKey {
        case bytes, changes
        case archivedFiles = "archived_files"
    }
}

/// A member's token as listed; `token` only in the answer that made it.
public struct TokenBody: Codable, Sendable, Equatable {
    public var id: Int64
    public var member: String
    public var label: String
    public var createdAt: String
    public var createdBy: String
    public var revokedAt: String?
    public var token: String?
    public init(id: Int64, member: String, label: String, createdAt: String, createdBy: String, revokedAt: String?, token: String?) {
        self.id = id
        self.member = member
        self.label = label
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
        self.token = token
    }
    enum CodingKeys: String, CodingKey {
        case id, member, label, token
        case createdAt = "created_at"
        case createdBy = "created_by"
        case revokedAt = "revoked_at"
    }
}

public struct NewTokenBody: Codable, Sendable, Equatable {
    public var label: String?
    public init(label: String?) { self.label = label }
}

public struct NewMemberBody: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public init(code: String, name: String) {
        self.code = code
        self.name = name
    }
}

public struct FileBody: Codable, Sendable, Equatable {
    public struct Counts: Codable, Sendable, Equatable {
        public var read, added, changed, unchanged, deleted, rejected, withdrawn: Int
        public init(read: Int, added: Int, changed: Int, unchanged: Int, deleted: Int, rejected: Int, withdrawn: Int) {
            self.read = read
            self.added = added
            self.changed = changed
            self.unchanged = unchanged
            self.deleted = deleted
            self.rejected = rejected
            self.withdrawn = withdrawn
        }
    }

    public var id: Int64
    public var member: String
    public var name: String
    public var sha256: String
    public var size: Int64
    public var mode: String
    public var state: String
    public var reason: String?
    public var progress: Int
    public var total: Int?
    public var counts: Counts
    public var receivedAt: String
    public var finishedAt: String?

    public init(
        id: Int64, member: String, name: String, sha256: String, size: Int64, mode: String, state: String, reason: String?,
        progress: Int, total: Int?, counts: Counts, receivedAt: String, finishedAt: String?
    ) {
        self.id = id
        self.member = member
        self.name = name
        self.sha256 = sha256
        self.size = size
        self.mode = mode
        self.state = state
        self.reason = reason
        self.progress = progress
        self.total = total
        self.counts = counts
        self.receivedAt = receivedAt
        self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, member, name, sha256, size, mode, state, reason, progress, total, counts
        case receivedAt = "received_at"
        case finishedAt = "finished_at"
    }
}

public struct SourceRecordBody: Codable, Sendable, Equatable {
    public var member: String
    public var localID: String
    public var unionID: String?
    public var status: String
    public var flavour: String
    public var originalEncoding: String
    public var locked: Bool
    public var updatedAt: String
    public var file: Int64?
    public var record: JSONValue?

    public init(
        member: String, localID: String, unionID: String?, status: String, flavour: String, originalEncoding: String,
        locked: Bool, updatedAt: String, file: Int64?, record: JSONValue?
    ) {
        self.member = member
        self.localID = localID
        self.unionID = unionID
        self.status = status
        self.flavour = flavour
        self.originalEncoding = originalEncoding
        self.locked = locked
        self.updatedAt = updatedAt
        self.file = file
        self.record = record
    }

    enum CodingKeys: String, CodingKey {
        case member, status, flavour, locked, file, record
        case localID = "local_id"
        case unionID = "union_id"
        case originalEncoding = "original_encoding"
        case updatedAt = "updated_at"
    }
}

public struct UnionRecordBody: Codable, Sendable, Equatable {
    public var id: String
    public var status: String
    public var master: String?
    public var redirectTo: String?
    public var createdAt: String
    public var updatedAt: String
    /// The merged view: every normalised identifier its source records carry, by kind (isbn as ISBN-13, issn,
    /// lccn, oclc), and the members whose records it holds.
    public var identifiers: [String: [String]]
    public var members: [String]
    /// Who holds it, where: every member's holdings of its records.
    public var holdings: [HoldingBody]
    public var sources: [SourceRecordBody]

    public init(
        id: String, status: String, master: String?, redirectTo: String?, createdAt: String, updatedAt: String,
        identifiers: [String: [String]] = [:], members: [String] = [], holdings: [HoldingBody] = [], sources: [SourceRecordBody]
    ) {
        self.id = id
        self.status = status
        self.master = master
        self.redirectTo = redirectTo
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.identifiers = identifiers
        self.members = members
        self.holdings = holdings
        self.sources = sources
    }

    enum CodingKeys: String, CodingKey {
        case id, status, master, sources, identifiers, members, holdings
        case redirectTo = "redirect_to"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Any JSON value, for the parts of a body whose shape is the data's (a MARC record in MARC-in-JSON).
public enum JSONValue: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        case (.array(let a), .array(let b)): a == b
        // Key order carries no meaning in JSON (decoders do not keep it).
        case (.object(let a), .object(let b)):
            a.count == b.count
                && zip(a.sorted { $0.0 < $1.0 }, b.sorted { $0.0 < $1.0 }).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .array(let values):
            var container = encoder.unkeyedContainer()
            for value in values { try container.encode(value) }
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            for (key, value) in members { try container.encode(value, forKey: Key(stringValue: key)) }
        }
    }

    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: Key.self) {
            self = .object(try container.allKeys.map { ($0.stringValue, try container.decode(JSONValue.self, forKey: $0)) })
        } else if var container = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !container.isAtEnd { values.append(try container.decode(JSONValue.self)) }
            self = .array(values)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }
}

/// `GET /v1/why?a=…&b=…`: how the engine compares two records, field by field, from their stored keys.
public struct WhyBody: Codable, Sendable, Equatable {
    public struct Side: Codable, Sendable, Equatable {
        public var member: String
        public var localID: String
        public var unionID: String?
        public var keys: [String: [String]]
        /// The stored decision that put this record in its union record.
        public var placement: Placement?
        public init(member: String, localID: String, unionID: String?, keys: [String: [String]], placement: Placement? = nil) {
            self.member = member
            self.localID = localID
            self.unionID = unionID
            self.keys = keys
            self.placement = placement
        }
        enum CodingKeys: String, CodingKey {
            case member, keys, placement
            case localID = "local_id"
            case unionID = "union_id"
        }
    }

    /// A record's placement as stored when it was decided: matched (with its comparison against the master then),
    /// new (with how many candidates were compared and any near miss) or must-link.
    public struct Placement: Codable, Sendable, Equatable {
        public var decision: String
        public var score: Double?
        public var comparedWith: String?
        public var ruleVersion: String?
        public var decidedAt: String?
        public var findings: [Finding]?
        public var candidates: Int?
        public var nearMiss: String?
        public init(
            decision: String, score: Double?, comparedWith: String?, ruleVersion: String?, decidedAt: String?,
            findings: [Finding]?, candidates: Int?, nearMiss: String?
        ) {
            self.decision = decision
            self.score = score
            self.comparedWith = comparedWith
            self.ruleVersion = ruleVersion
            self.decidedAt = decidedAt
            self.findings = findings
            self.candidates = candidates
            self.nearMiss = nearMiss
        }
        enum CodingKeys: String, CodingKey {
            case decision, score, findings, candidates
            case comparedWith = "compared_with"
            case ruleVersion = "rule_version"
            case decidedAt = "decided_at"
            case nearMiss = "near_miss"
        }
    }

    public struct Finding: Codable, Sendable, Equatable {
        public var field: String
        public var verdict: String
        public var weight: Double
        public init(field: String, verdict: String, weight: Double) {
            self.field = field
            self.verdict = verdict
            self.weight = weight
        }
    }

    public var a: Side
    public var b: Side
    public var sameUnion: Bool
    public var ruleVersion: String
    public var decision: String
    public var score: Double
    public var threshold: Double
    public var findings: [Finding]

    public init(
        a: Side, b: Side, sameUnion: Bool, ruleVersion: String, decision: String, score: Double, threshold: Double,
        findings: [Finding]
    ) {
        self.a = a
        self.b = b
        self.sameUnion = sameUnion
        self.ruleVersion = ruleVersion
        self.decision = decision
        self.score = score
        self.threshold = threshold
        self.findings = findings
    }

    enum CodingKeys: String, CodingKey {
        case a, b, decision, score, threshold, findings
        case sameUnion = "same_union"
        case ruleVersion = "rule_version"
    }
}

/// `POST /v1/records/merge|split|unlink`: two records as `MEMBER:LOCALID`.
public struct LinkRequestBody: Codable, Sendable, Equatable {
    public var a: String
    public var b: String
    public init(a: String, b: String) {
        self.a = a
        self.b = b
    }
}

/// Where the two records are after an override.
public struct LinkResultBody: Codable, Sendable, Equatable {
    public var link: String
    public var aUnion: String?
    public var bUnion: String?
    public init(link: String, aUnion: String?, bUnion: String?) {
        self.link = link
        self.aUnion = aUnion
        self.bUnion = bUnion
    }
    enum CodingKeys: String, CodingKey {
        case link
        case aUnion = "a_union"
        case bUnion = "b_union"
    }
}

/// `POST /v1/records/lock`: lock or unlock a member's record.
public struct LockRequestBody: Codable, Sendable, Equatable {
    public var record: String
    public var locked: Bool
    public init(record: String, locked: Bool) {
        self.record = record
        self.locked = locked
    }
}

/// A near miss in the review queue.
public struct ReviewBody: Codable, Sendable, Equatable {
    public var id: Int64
    public var record: String
    public var unionID: String
    public var master: String?
    public var score: Double
    public var ruleVersion: String
    public var state: String
    public init(id: Int64, record: String, unionID: String, master: String?, score: Double, ruleVersion: String, state: String) {
        self.id = id
        self.record = record
        self.unionID = unionID
        self.master = master
        self.score = score
        self.ruleVersion = ruleVersion
        self.state = state
    }
    enum CodingKeys: String, CodingKey {
        case id, record, master, score, state
        case unionID = "union_id"
        case ruleVersion = "rule_version"
    }
}

/// A backup or export under way (`GET /v1/operations`): pages copied or records written, of how many.
public struct OperationBody: Codable, Sendable, Equatable {
    public var id: Int
    public var kind: String
    public var path: String
    public var done: Int
    public var total: Int?
    public init(id: Int, kind: String, path: String, done: Int, total: Int?) {
        self.id = id
        self.kind = kind
        self.path = path
        self.done = done
        self.total = total
    }
}
