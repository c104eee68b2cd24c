import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kept record answers are written on the connection's event loop, beside requests answered by the connection's
/// task: on one connection, pipelined, the answers must come back whole and in order, `Connection: close` must
/// close, a token must still be checked, and the requests must still be counted.
@Suite("kept answers on the event loop")
struct KeptAnswerTests {
    /// Every response on the connection until the daemon closes it: status, headers (lower-cased names) and body.
    static func responses(_ bytes: [UInt8]) -> [(status: Int, headers: [String: String], body: String)] {
        var answers: [(Int, [String: String], String)] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyStart = end.upperBound
            let bodyEnd = min(bodyStart + length, rest.endIndex)
            answers.append((Int(head[0].dropFirst(9).prefix(3)) ?? 0, headers, String(decoding: rest[bodyStart..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return answers
    }

    /// Sends `requests` at once on one connection and reads until the daemon closes it.
    static func pipelined(_ socket: String, _ requests: [String]) async throws -> [UInt8] {
        try await onOwnThread {
            let descriptor = try ConnectionTests.connect(socket)
            defer { close(descriptor) }
            ConnectionTests.send(descriptor, requests.joined())
            return ConnectionTests.readToEnd(descriptor)
        }
    }

    @Test("pipelined kept and fresh answers come back whole and in order; Connection: close closes; a bad token is refused; all are counted")
    func keptAnswersKeepOrder() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "books.mrc")
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        var ids: [String] = []
        for book in try DaemonSupport.locBooks().prefix(5) {
            let local = book.controlNumber!.trimmingCharacters(in: .whitespaces)
            ids.append(try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(local)").unionID))
        }
        #expect(ids.count == 5)
        // Asked once, so these are kept.
        for id in ids.prefix(3) { _ = try await daemon.get("/v1/records/\(id)") }
        _ = try await daemon.get("/v1/records/\(ids[0])?format=marcxml")

        let get = { (target: String, extra: String) in "GET \(target) HTTP/1.1\r\nHost: calisd\r\n\(extra)\r\n" }
        let targets = [
            "/v1/records/\(ids[0])", "/v1/status", "/v1/records/\(ids[1])", "/v1/records/\(ids[4])", "/v1/records/\(ids[0])?format=marcxml",
            "/v1/records/\(ids[2])", "/v1/records/CAL999999999", "/v1/records/\(ids[3])",
        ]
        var requests = targets.map { get($0, "") }
        requests.append(get("/v1/records/\(ids[2])", "Authorization: Bearer not-a-token\r\n"))
        requests.append(get("/v1/records/\(ids[1])", "Connection: close\r\n"))
        let answers = Self.responses(try await Self.pipelined(daemon.socketPath, requests))
        #expect(answers.count == requests.count, "every request answered, then closed")
        guard answers.count == requests.count else { return }
        for (index, target) in targets.enumerated() where target.hasPrefix("/v1/records/CAL") && !target.contains("999999999") {
            let id = String(target.dropFirst("/v1/records/".count).prefix(12))
            #expect(answers[index].status == 200, "\(target)")
            #expect(answers[index].body.contains(id), "answer \(index) is \(target)'s")
            #expect(answers[index].body.utf8.count == Int(answers[index].headers["content-length"] ?? ""), "whole")
        }
        #expect(answers[1].body.contains("\"records\""), "status in its place")
        #expect(answers[4].headers["content-type"]?.hasPrefix("application/marcxml+xml") == true)
        #expect(answers[6].status == 404)
        #expect(answers[8].status == 401, "a token is checked even when the answer is kept")
        #expect(answers[9].status == 200 && answers[9].headers["connection"] == "close" && answers[9].body.contains(ids[1]))

        let metrics = try await daemon.get("/metrics").text
        let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("calisd_http_requests_total{") && $0.contains("route=\"/v1/records/{}\"") && $0.contains("status=\"200\"") })
        // 3 + 1 warming requests, 7 answered 200 on the pipelined connection.
        #expect(Double(line.split(separator: " ").last ?? "") == 11, "\(line)")
    }
}
