import APIClient
import CalisdTesting
import Foundation
import Testing

/// `GET /metrics` in Prometheus's text format, read back by the Prometheus project's own Python parser.
@Suite("metrics")
struct MetricsTests {
    /// Samples as `name{label="value",…}` → value, parsed by prometheus_client (an independent reader).
    static func parse(_ text: String) throws -> [String: Double] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            samples = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                    samples[sample.name + ("{" + labels + "}" if labels else "")] = sample.value
            print(json.dumps(samples))
            """
        let result = try ProcessRunner.run("python3", ["-c", script], input: Data(text.utf8))
        try #require(result.status == 0, "prometheus_client could not read it: \(result.stderrText)")
        return try JSONDecoder().decode([String: Double].self, from: result.stdout)
    }

    @Test("requests by route and status with latency histograms, the catalogue, ingest and database size, in a format Prometheus reads")
    func exposition() async throws {
        guard (try? ProcessRunner.run("python3", ["-c", "import prometheus_client"]))?.status == 0 else {
            try #require(ProcessInfo.processInfo.environment["CI"] == nil, "prometheus_client is needed (make deps)")
            print("skipping: python3 with prometheus_client is not installed (make deps installs it)")
            return
        }
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        for _ in 0..<3 { _ = try await daemon.get("/v1/search?q=botanical") }
        _ = try await daemon.get("/v1/records/CAL999999999")
        _ = try await daemon.get("/v1/members/M001/records/00000002")

        let response = try await daemon.get("/metrics")
        #expect(response.status == 200)
        let text = String(decoding: response.body, as: UTF8.self)
        let samples = try Self.parse(text)
        #expect(samples[#"calisd_http_requests_total{route="/v1/search",status="200"}"#] == 3, "\(text)")
        #expect(samples[#"calisd_http_requests_total{route="/v1/records/{}",status="404"}"#] == 1)
        // The local id is a variable part: routes stay few, whatever members' ids are.
        #expect(samples[#"calisd_http_requests_total{route="/v1/members/{}/records/{}",status="200"}"#] == 1)
        #expect(samples[#"calisd_http_request_duration_seconds_count{route="/v1/search"}"#] == 3)
        #expect(samples[#"calisd_http_request_duration_seconds_bucket{le="+Inf",route="/v1/search"}"#] == 3)
        #expect(samples["calisd_source_records"] == 50 && samples["calisd_members"] == 1)
        #expect(samples[#"calisd_ingest_files{state="done"}"#] == 1 && samples[#"calisd_ingest_records{outcome="added"}"#] == 50)
        #expect(samples["calisd_ingest_queue_depth"] == 0 && samples["calisd_harvests_running"] == 0)
        #expect((samples["calisd_database_bytes"] ?? 0) > 100_000)
        // The writer reports each commit's WAL length to the checkpointer; 50 records do not fill it.
        #expect((samples["calisd_wal_pages"] ?? 0) > 0)
        #expect(samples[#"calisd_wal_copies{by="checkpointer"}"#] == 0 && samples[#"calisd_wal_copies{by="writer"}"#] == 0)
        #expect(samples["calisd_wal_copy_failures"] == 0)
        // Freed memory is handed back once a second from the start (what 50 records free may not fill a page).
        let trims = try #require(samples["calisd_memory_trims"])
        #expect(trims >= 1 && samples["calisd_memory_trimmed_bytes"] != nil, "\(text)")
        try await Task.sleep(for: .milliseconds(2_500))
        let later = try Self.parse(String(decoding: try await daemon.get("/metrics").body, as: UTF8.self))
        #expect((later["calisd_memory_trims"] ?? 0) >= trims + 2)

        let post = try await daemon.client.request("POST", "/metrics")
        #expect(post.status == 405)
    }
}
