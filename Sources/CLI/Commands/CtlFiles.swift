import APIClient
import APITypes
import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `calisd ctl ingest --member CODE FILE…`: uploads through the socket, into the same pipeline as the drop folder.
struct CtlIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Submit files for a member over the socket and wait for them to finish.",
        discussion: "A name containing .full. is a full snapshot; a *.delete.txt lists local ids to delete.")

    @OptionGroup var options: CtlOptions
    @Option(name: .long, help: "The member the files belong to.") var member: String
    @Flag(name: .long, help: "Return once the files are queued.") var noWait = false
    @Argument(help: "The files.") var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file") }
    }

    func run() async throws {
        let client = try options.client()
        let bar = ProgressBar()
        var finished: [FileBody] = []
        for path in files {
            let name = (path as NSString).lastPathComponent
            let target = "/v1/members/\(CtlPath.segment(member))/files?name=\(CtlPath.segment(name))"
            let response: APIClient.Response
            switch await Self.upload(client, target, path: path, bar: bar, label: "uploading \(name)") {
            case .success(let answer): response = answer
            case .failure(let error):
                bar.clear()
                StandardError.write("calisd: \(error)")
                if case .file = error { throw ExitCode(CalisdExit.dataError) }
                throw ExitCode(CalisdExit.unavailable)
            }
            bar.clear()
            try CtlOptions.check(response)
            var file = try options.decode(FileBody.self, response)
            while !noWait && !Self.isFinished(file.state) {
                try await Task.sleep(for: .milliseconds(200))
                file = try options.decode(FileBody.self, try await options.call("GET", "/v1/files/\(file.id)"))
                bar.show("ingesting \(name)", Int64(file.progress), file.total.map(Int64.init))
            }
            bar.clear()
            finished.append(file)
            if !options.json { print(Self.describe(file)) }
        }
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(finished), as: UTF8.self))
        }
        if finished.contains(where: { $0.state == "rejected" || $0.state == "failed" }) { throw ExitCode(CalisdExit.dataError) }
        if finished.contains(where: { $0.state == "held" }) { throw ExitCode(CalisdExit.temporaryFailure) }
    }

    static func upload(
        _ client: APIClient, _ target: String, path: String, bar: ProgressBar, label: String
    ) async -> Result<APIClient.Response, APIClientError> {
        do {
            return .success(try await client.upload(target, file: path) { sent, total in bar.show(label, sent, total) })
        } catch {
            return .failure(error)
        }
    }

    static func isFinished(_ state: String) -> Bool { ["done", "held", "rejected", "failed"].contains(state) }

    static func describe(_ file: FileBody) -> String {
        let c = file.counts
        var line = "file \(file.id) \(file.name): \(file.state): read \(c.read), added \(c.added), changed \(c.changed), "
            + "unchanged \(c.unchanged), deleted \(c.deleted), rejected \(c.rejected)"
        if c.withdrawn > 0 { line += ", withdrawn \(c.withdrawn)" }
        if let reason = file.reason { line += "\n  \(reason)" }
        return line
    }
}

/// `calisd ctl files list|show|approve|reject`.
struct CtlFiles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files", abstract: "Submitted files: list, show, and decide held full snapshots.",
        subcommands: [List.self, Show.self, Approve.self, Reject.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Files, newest first.")
        @OptionGroup var options: CtlOptions
        @Option(name: .long, help: "Only this member's.") var member: String?
        @Option(name: .long, help: "Only files in this state (queued, active, done, held, rejected, failed).") var state: String?
        @Option(name: .long, help: "At most this many (1-10000).") var limit = 100

        func run() async throws {
            var query = ["limit=\(limit)"]
            if let member { query.append("member=\(CtlPath.segment(member))") }
            if let state { query.append("state=\(CtlPath.segment(state))") }
            let response = try await options.call("GET", "/v1/files?" + query.joined(separator: "&"))
            if options.json { return options.printRaw(response) }
            let files = try options.decode([FileBody].self, response)
            print(Table.render(["ID", "MEMBER", "STATE", "MODE", "READ", "ADDED", "CHANGED", "REJECTED", "RECEIVED", "NAME"], files.map {
                [String($0.id), $0.member, $0.state, $0.mode, String($0.counts.read), String($0.counts.added), String($0.counts.changed),
                 String($0.counts.rejected), $0.receivedAt, $0.name]
            }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One file and its report.")
        @OptionGroup var options: CtlOptions
        @Argument var id: Int64

        func run() async throws {
            let response = try await options.call("GET", "/v1/files/\(id)")
            let file = try options.decode(FileBody.self, response)
            let report = CtlIngest.isFinished(file.state) ? try? await options.call("GET", "/v1/files/\(id)/report") : nil
            if options.json { return options.printRaw(report ?? response) }
            print(CtlIngest.describe(file))
            print("  member \(file.member), \(file.mode), \(file.size) bytes, sha256 \(file.sha256)")
            print("  received \(file.receivedAt)" + (file.finishedAt.map { ", finished \($0)" } ?? ""))
            if let report, let body = try? JSONDecoder().decode(ReportProblems.self, from: Data(report.body)), !body.problems.isEmpty {
                print("  problems:")
                for problem in body.problems.prefix(50) {
                    print("    record \(problem.record)" + (problem.localID.map { " (001 \($0))" } ?? "") + ": \(problem.severity): \(problem.reason)")
                }
                if body.problems.count > 50 { print("    … \(body.problems.count - 50) more in the report") }
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a held full snapshot run, withdrawals and all.")
        @OptionGroup var options: CtlOptions
        @Argument var id: Int64

        func run() async throws {
            try await CtlFiles.decide(options, id, "approve", "approved: queued to run with its withdrawals")
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a held full snapshot with nothing changed.")
        @OptionGroup var options: CtlOptions
        @Argument var id: Int64

        func run() async throws {
            try await CtlFiles.decide(options, id, "reject", "rejected: nothing changed")
        }
    }

    /// An admin's decision on a held file: the same request to two routes.
    static func decide(_ options: CtlOptions, _ id: Int64, _ action: String, _ done: String) async throws {
        let response = try await options.call("POST", "/v1/files/\(id)/\(action)")
        if options.json { return options.printRaw(response) }
        print("file \(id) \(done)")
    }
}

/// The problems of a report, as `files show` lists them.
struct ReportProblems: Decodable {
    struct Problem: Decodable {
        var record: Int
        var localID: String?
        var severity: String
        var reason: String
        enum CodingKeys: String, CodingKey {
            case record, severity, reason
            case localID = "001"
        }
    }
    var problems: [Problem]
}

/// A one-line progress bar on standard error, only when it is a terminal.
final class ProgressBar: Sendable {
    let enabled = isatty(STDERR_FILENO) == 1
    private let shown = Mutex(false)

    func show(_ label: String, _ done: Int64, _ total: Int64?) {
        guard enabled else { return }
        var line = "\r\u{1B}[2K\(label) "
        if let total, total > 0 {
            let width = 30
            let filled = Int(min(1, Double(done) / Double(total)) * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(done)/\(total)"
        } else {
            line += "\(done)"
        }
        shown.withLock { shown in
            StandardError.writeRaw(line)
            shown = true
        }
    }

    func clear() {
        guard enabled else { return }
        shown.withLock { shown in
            if shown { StandardError.writeRaw("\r\u{1B}[2K") }
            shown = false
        }
    }
}
