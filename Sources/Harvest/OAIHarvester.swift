import APITypes
import AsyncHTTPClient
import Foundation
import Ingest
import Logging
import NIOCore
import Store

/// One incremental OAI-PMH 2.0 harvest of one member: Identify (for the granularity), then ListRecords `from` the
/// last harvest's response date across resumption tokens, the records and deletions handed to ingest as files.
struct OAIHarvester {
    let store: CatalogStore
    let ingest: IngestService
    let settings: HarvestSettings
    let http: HTTPClient
    let logger: Logger

    func harvest(_ policy: RefreshPolicy) async throws -> (summary: HarvestSummary, nextFrom: String?) {
        guard let base = policy.oaiURL else { throw HarvestError.configuration("\(policy.member) has no OAI-PMH base URL") }
        let client = try OAIClient(
            http: http, baseURL: base, timeout: .seconds(Int64(settings.requestTimeoutSeconds)), maximumBytes: settings.maximumResponseBytes,
            userAgent: settings.userAgent)
        let clock = ContinuousClock()
        let started = clock.now
        var summary = HarvestSummary(
            from: nil, until: nil, records: 0, deleted: 0, unknownDeletions: 0, notMARC: 0, pages: 0, retries: 0, restarts: 0, files: [],
            seconds: 0)
        let identify = try await request(client, [("verb", "Identify")], summary: &summary)
        if let error = identify.error { throw HarvestError.oai(code: error.code, message: error.message) }
        let dayGranularity = identify.granularity == "YYYY-MM-DD"
        let from = policy.harvestFrom.map { dayGranularity ? String($0.prefix(10)) : $0 }
        summary.from = from

        var first: [(String, String)] = [("verb", "ListRecords"), ("metadataPrefix", policy.oaiPrefix ?? "marc21")]
        if let set = policy.oaiSet { first.append(("set", set)) }
        if let from { first.append(("from", from)) }
        let batch = HarvestBatch(
            store: store, ingest: ingest, stateDirectory: settings.stateDirectory, member: policy.member, startedAt: Date(),
            recordsPerFile: settings.recordsPerFile)
        var token: String?
        var nextFrom: String?
        do {
            while true {
                try Task.checkCancellation()
                let page = try await request(client, token.map { [("verb", "ListRecords"), ("resumptionToken", $0)] } ?? first, summary: &summary)
                // The first response's date: anything changed after it is in the next harvest.
                if nextFrom == nil { nextFrom = page.responseDate }
                summary.pages += 1
                if let error = page.error {
                    if error.code == "noRecordsMatch" { break }
                    if error.code == "badResumptionToken", token != nil, summary.restarts < 2 {
                        logger.warning(
                            "harvest restarting its list: the provider refused its resumption token",
                            metadata: ["calisd.member": "\(policy.member)", "calisd.reason": "\(error.message)"])
                        summary.restarts += 1
                        token = nil
                        // The list comes again from its start: what is not yet handed to ingest is taken again.
                        batch.discard()
                        summary.records = batch.flushedRecords
                        continue
                    }
                    throw HarvestError.oai(code: error.code, message: error.message)
                }
                for record in page.records {
                    if !record.deleted && record.marcXML == nil {
                        summary.notMARC += 1
                        continue
                    }
                    if !record.deleted { summary.records += 1 }
                    try batch.add(record)
                }
                guard let next = page.resumptionToken, !next.isEmpty else { break }
                if next == token { throw HarvestError.malformed("the provider sent the same resumption token again: the list would never end") }
                token = next
            }
            if summary.notMARC > 0 && summary.records == 0 {
                throw HarvestError.configuration(
                    "no record in metadata format '\(policy.oaiPrefix ?? "marc21")' is MARCXML; set --oai-prefix to the provider's MARC 21 format (ListMetadataFormats names it: marc21, marcxml, …)")
            }
            try batch.flush()
        } catch {
            batch.discard()
            throw error
        }
        summary.deleted = batch.deletedCount
        summary.unknownDeletions = batch.unknownDeletions
        summary.files = batch.files
        summary.until = nextFrom
        let elapsed = clock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (summary, nextFrom.map { dayGranularity ? String($0.prefix(10)) : $0 })
    }

    /// One request, tried again after a transient failure (the provider's Retry-After, else a doubling delay).
    private func request(_ client: OAIClient, _ arguments: [(String, String)], summary: inout HarvestSummary) async throws -> OAIResponse {
        var attempt = 0
        while true {
            do {
                return try await client.request(arguments)
            } catch let error as HarvestError where error.isTransient && attempt + 1 < settings.attemptsPerRequest {
                var delay = settings.retryAfterSeconds << attempt
                // A provider asking for longer than five minutes is better left to the harvest's own backoff.
                if case .http(_, let retryAfter?) = error, retryAfter <= 300 { delay = max(retryAfter, 1) }
                attempt += 1
                summary.retries += 1
                logger.warning(
                    "harvest request failed; trying again",
                    metadata: ["calisd.url": "\(client.url(arguments))", "calisd.reason": "\(error)", "calisd.retry_in_seconds": "\(delay)"])
                try await Task.sleep(for: .seconds(delay))
            } catch let error as HarvestError {
                throw HarvestFailure(error: error, url: client.url(arguments), attempts: attempt + 1)
            }
        }
    }
}

/// A request that failed for good, with where and after how many tries.
struct HarvestFailure: Error, CustomStringConvertible {
    var error: HarvestError
    var url: String
    var attempts: Int

    var description: String {
        "\(error) (GET \(url)" + (attempts > 1 ? ", \(attempts) attempts)" : ")")
    }
}
