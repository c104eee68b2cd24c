import APIClient
import APITypes
import ArgumentParser
import Config
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `calisd ctl`: the admin client. It talks to the daemon's socket only.
struct Ctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administer a running calisd over its socket.",
        discussion: """
            Exit status: 0 success; 1 the daemon refused the request (it says why); 65 a file ended rejected or \
            failed; 69 the daemon cannot be reached; 75 a file is held for an admin; 78 a bad configuration.
            """,
        subcommands: [
            CtlStatus.self, CtlMembers.self, CtlIngest.self, CtlFiles.self, CtlRecords.self, CtlWhy.self, CtlReview.self, CtlRefresh.self,
            CtlTokens.self, CtlVerify.self, CtlBackup.self, CtlExport.self, CtlPrune.self,
        ]
    )

    // Declared here too, so `calisd ctl --socket PATH --json status` works as well as options after the command.
    @OptionGroup var options: CtlOptions
}

/// Where the daemon is and how to print: shared by every `ctl` command.
struct CtlOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's socket (default: the one the configuration names).")
    var socket: String?

    @Option(name: .long, help: "The configuration naming the socket.")
    var config: String = CalisdConfig.defaultPath

    @Flag(name: .long, help: "Print JSON for scripts instead of tables.")
    var json = false

    func client() throws -> APIClient {
        if let socket { return APIClient(socketPath: socket) }
        if !FileManager.default.fileExists(atPath: config) && config == CalisdConfig.defaultPath {
            return APIClient(socketPath: CalisdConfig().socketPath)
        }
        do {
            return APIClient(socketPath: try CalisdConfig.load(path: config).socketPath)
        } catch {
            StandardError.write("calisd: \(error)")
            throw ExitCode(CalisdExit.config)
        }
    }

    /// Sends a request; a transport failure exits 69, an error answer prints the daemon's message and exits 1.
    func call(_ method: String, _ target: String, body: (some Encodable)? = Optional<String>.none) async throws -> APIClient.Response {
        let client = try client()
        let bytes = try body.map { Array(try JSONEncoder().encode($0)) }
        let response: APIClient.Response
        do {
            response = try await client.request(method, target, json: bytes)
        } catch {
            StandardError.write("calisd: \(error)")
            throw ExitCode(CalisdExit.unavailable)
        }
        try Self.check(response)
        return response
    }

    static func check(_ response: APIClient.Response) throws {
        guard response.status >= 400 else { return }
        if let body = try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body)) {
            StandardError.write("calisd: \(body.error.message) (HTTP \(response.status), \(body.error.code))")
        } else {
            StandardError.write("calisd: the daemon answered HTTP \(response.status)")
        }
        throw ExitCode.failure
    }

    func decode<Body: Decodable>(_ type: Body.Type, _ response: APIClient.Response) throws -> Body {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            StandardError.write("calisd: the daemon's answer is not what this ctl expects: \(error)")
            throw ExitCode.failure
        }
    }

    /// Prints the answer as the daemon gave it (for --json).
    func printRaw(_ response: APIClient.Response) {
        var text = response.text
        if !text.hasSuffix("\n") { text += "\n" }
        print(text, terminator: "")
    }
}

extension CalisdExit {
    static let dataError: Int32 = 65  // EX_DATAERR
    static let unavailable: Int32 = 69  // EX_UNAVAILABLE
    static let temporaryFailure: Int32 = 75  // EX_TEMPFAIL
}

/// Columns padded to their widest cell.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// `calisd ctl status`.
struct CtlStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The catalogue and ingest at a glance.")

    @OptionGroup var options: CtlOptions

    func run() async throws {
        let response = try await options.call("GET", "/v1/status")
        if options.json { return options.printRaw(response) }
        let status = try options.decode(StatusBody.self, response)
        print("calisd \(status.version), up since \(status.startedAt)")
        print("records:  \(status.records.source) source records in \(status.records.union) union records")
        print("members:  \(status.members)")
        var ingest = "ingest:   \(status.ingest.active) active, \(status.ingest.queued) queued, \(status.ingest.held) held, \(status.ingest.failed) failed"
        if let current = status.ingest.current {
            ingest += "\ncurrent:  file \(current.file) (\(current.member) \(current.name)): \(current.done)"
                + (current.total.map { " of \($0)" } ?? "") + " records"
        }
        print(ingest)
        let overdue = status.refresh.overdue.isEmpty ? "none" : status.refresh.overdue.joined(separator: ", ")
        let failing = status.refresh.failing.isEmpty ? "none" : status.refresh.failing.joined(separator: ", ")
        print("refresh:  overdue \(overdue); failing \(failing)")
        print("review:   \(status.reviewOpen) near miss(es) waiting" + (status.reviewOpen > 0 ? " (calisd ctl review list)" : ""))
        print("database: \(ByteCountFormatter.string(fromByteCount: status.databaseBytes, countStyle: .file))")
    }
}

/// `calisd ctl members add|list|show`.
struct CtlMembers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "Add, list and set up member libraries.",
        subcommands: [Add.self, List.self, Show.self, Change.self, Suspend.self, Resume.self])

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suspend a member: its drop folder and uploads wait, it is not harvested; its records stay.",
            discussion: "Files it drops meanwhile stay in its folder and are taken on resume.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The member's code.") var code: String
        @Option(name: .long, help: "Why, for the change log.") var reason: String?

        func run() async throws {
            try await CtlMembers.setSuspended(options, code, "suspend", reason)
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a suspended member: what waits in its drop folder is taken, its harvest may run.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The member's code.") var code: String
        @Option(name: .long, help: "Why, for the change log.") var reason: String?

        func run() async throws {
            try await CtlMembers.setSuspended(options, code, "resume", reason)
        }
    }

    static func setSuspended(_ options: CtlOptions, _ code: String, _ action: String, _ reason: String?) async throws {
        let response = try await options.call("POST", "/v1/members/\(CtlPath.segment(code))/\(action)", body: SuspendBody(reason: reason))
        if options.json { return options.printRaw(response) }
        let member = try options.decode(MemberBody.self, response)
        print("member \(member.code) is \(member.status)")
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a member and create its drop folder (drop/CODE/ and drop/CODE/reports/).")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The member code: 1-32 letters, digits, '_' or '-'.") var code: String
        @Option(name: .long, help: "The library's name.") var name: String

        func run() async throws {
            let response = try await options.call("POST", "/v1/members", body: NewMemberBody(code: code, name: name))
            if options.json { return options.printRaw(response) }
            let member = try options.decode(MemberBody.self, response)
            print("member \(member.code) added: \(member.name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the members.")
        @OptionGroup var options: CtlOptions

        func run() async throws {
            let response = try await options.call("GET", "/v1/members")
            if options.json { return options.printRaw(response) }
            let members = try options.decode([MemberBody].self, response)
            print(Table.render(["CODE", "STATUS", "RECORDS", "FILES", "PRIORITY", "NAME"], members.map {
                [$0.code, $0.status, String($0.records), String($0.files), String($0.priority), $0.name]
            }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One member.")
        @OptionGroup var options: CtlOptions
        @Argument var code: String

        func run() async throws {
            let response = try await options.call("GET", "/v1/members/\(CtlPath.segment(code))")
            if options.json { return options.printRaw(response) }
            let member = try options.decode(MemberBody.self, response)
            print("\(member.code): \(member.name) (\(member.status)), \(member.records) records, \(member.files) files, priority \(member.priority)")
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change a member's settings.",
            discussion: """
                --priority ranks the member as a source of masters: among records of equal quality (encoding level, \
                completeness) the one from the member with the higher priority is master, before the most recent. \
                Masters of the member's union records are chosen again at once.
                """)
        @OptionGroup var options: CtlOptions
        @Argument var code: String
        @Option(name: .long, help: "Priority as a source of masters, -1000 to 1000 (default 0).") var priority: Int?
        @Option(
            name: .long,
            help: "The members this one may submit holdings for, comma-separated (a provincial centre); '' for none.")
        var maySubmitFor: String?
        @Option(
            name: .long,
            help: "The institution codes this member's 852 $a / 905 $a name it by (MARC organisation, CALIS codes); '' for none.")
        var institutionCodes: String?
        @Option(name: .long, help: "How often a refresh is due: 7d, 12h, 30m (with --source).") var refreshInterval: String?
        @Option(
            name: .long,
            help: "Where the refresh comes from: drop (a full snapshot in the drop folder) or oai (harvest --oai-url).")
        var source: String?
        @Option(name: .long, help: "The member's OAI-PMH 2.0 base URL (with --source oai).") var oaiURL: String?
        @Option(name: .long, help: "The OAI-PMH set to harvest (with --source oai; default: the whole repository).") var oaiSet: String?
        @Option(name: .long, help: "The metadata prefix of MARCXML records (with --source oai; default marc21).") var oaiPrefix: String?

        func validate() throws {
            if oaiURL != nil || oaiSet != nil || oaiPrefix != nil, source != "oai" {
                throw ValidationError("--oai-url, --oai-set and --oai-prefix go with --source oai.")
            }
            if source == "oai", oaiURL == nil {
                throw ValidationError("--source oai needs --oai-url, the member's OAI-PMH base URL.")
            }
            guard priority != nil || maySubmitFor != nil || institutionCodes != nil || refreshInterval != nil || source != nil else {
                throw ValidationError(
                    "Name a setting to change: --priority N, --may-submit-for CODE,CODE, --institution-codes CODE,CODE or --refresh-interval 7d --source drop.")
            }
            if (refreshInterval == nil) != (source == nil) {
                throw ValidationError("--refresh-interval and --source go together: --refresh-interval 7d --source drop.")
            }
            if let refreshInterval, Self.seconds(refreshInterval) == nil {
                throw ValidationError("--refresh-interval: '\(refreshInterval)' is not a duration; write 7d, 12h or 30m.")
            }
            if let priority, !(-1000...1000).contains(priority) { throw ValidationError("--priority must be between -1000 and 1000.") }
            for code in codes ?? [] where !code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                throw ValidationError("--may-submit-for: '\(code)' is not a member code (letters, digits, '_' or '-').")
            }
        }

        private var codes: [String]? { Self.list(maySubmitFor) }

        /// "7d", "12h", "30m", "90s" in seconds.
        static func seconds(_ text: String) -> Int64? {
            guard let unit = text.last, let number = Int64(text.dropLast()), number > 0 else { return nil }
            switch unit {
            case "d": return number * 86_400
            case "h": return number * 3_600
            case "m": return number * 60
            case "s": return number
            default: return nil
            }
        }

        static func list(_ text: String?) -> [String]? {
            text.map { $0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty } }
        }

        func run() async throws {
            let response = try await options.call(
                "PATCH", "/v1/members/\(CtlPath.segment(code))", body: MemberSettingsBody(
                    priority: priority, maySubmitFor: codes, institutionCodes: Self.list(institutionCodes),
                    refresh: source.map {
                        MemberSettingsBody.Refresh(
                            source: $0, intervalSeconds: refreshInterval.flatMap(Self.seconds) ?? 0, oaiURL: oaiURL, oaiSet: oaiSet,
                            oaiPrefix: oaiPrefix)
                    }))
            if options.json { return options.printRaw(response) }
            let member = try options.decode(MemberBody.self, response)
            let centre = member.maySubmitFor.isEmpty ? "none" : member.maySubmitFor.joined(separator: ",")
            let own = member.institutionCodes.isEmpty ? "none" : member.institutionCodes.joined(separator: ",")
            print("member \(member.code): priority \(member.priority), may submit for \(centre), institution codes \(own)")
        }
    }
}

enum CtlPath {
    /// Percent-encodes one path segment.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// `calisd ctl refresh status`: every member's refresh policy and where it stands; `calisd ctl refresh CODE`: harvest
/// one member now.
struct CtlRefresh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh", abstract: "Members' refresh policies: harvest one now, or see when each is due, overdue or failing.",
        subcommands: [Now.self, Status.self], defaultSubcommand: Now.self)

    struct Now: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "now",
            abstract: "Harvest a member with --source oai now (calisd ctl refresh CODE).",
            discussion: """
                The harvest runs in the daemon, incrementally from the last one. With --wait, waits for it to end and \
                exits 0 when it succeeded, 1 when it failed (the error is printed).
                """)
        @OptionGroup var options: CtlOptions
        @Argument(help: "The member's code.") var code: String
        @Flag(name: .long, help: "Wait for the harvest to end and say how it went.") var wait = false
        @Option(name: .long, help: "With --wait, give up after this many seconds.") var timeout: Int = 3_600

        func run() async throws {
            let requested = try await options.call("POST", "/v1/refresh/\(CtlPath.segment(code))")
            let before = try options.decode(RefreshBody.self, requested)
            guard wait else {
                if options.json { return options.printRaw(requested) }
                print("harvest of \(code) requested; see calisd ctl refresh status")
                return
            }
            let deadline = ContinuousClock.now + .seconds(timeout)
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                let response = try await options.call("GET", "/v1/refresh/\(CtlPath.segment(code))")
                let now = try options.decode(RefreshBody.self, response)
                // Ended: not running, and it has started since the request (a new attempt time or due time moved on).
                if !now.harvesting && now.nextDue != before.nextDue {
                    if options.json { options.printRaw(response) } else { Self.describe(now) }
                    if now.failures > 0 { throw ExitCode.failure }
                    return
                }
            }
            throw CleanExit.message("the harvest of \(code) did not end within \(timeout) s; see calisd ctl refresh status")
        }

        static func describe(_ body: RefreshBody) {
            if body.failures > 0 {
                print("harvest of \(body.member) failed (\(body.failures) in a row): \(body.lastError ?? "no error recorded"); next try \(body.nextDue)")
            } else if let summary = body.lastHarvest {
                print(
                    "harvest of \(body.member) finished: \(summary.records) records, \(summary.deleted) deleted in \(summary.pages) pages, "
                        + String(format: "%.1f s", summary.seconds) + "; next due \(body.nextDue)")
            } else {
                print("harvest of \(body.member) finished; next due \(body.nextDue)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every member with a refresh policy: source, interval, last success, next due, failures, last error.")
        @OptionGroup var options: CtlOptions

        func run() async throws {
            let response = try await options.call("GET", "/v1/refresh")
            if options.json { return options.printRaw(response) }
            let policies = try options.decode([RefreshBody].self, response)
            if policies.isEmpty {
                print("no member has a refresh policy; set one with calisd ctl members set CODE --refresh-interval 7d --source drop")
                return
            }
            print(Table.render(["MEMBER", "SOURCE", "EVERY", "LAST SUCCESS", "NEXT DUE", "STATE", "FAILURES", "LAST HARVEST", "LAST ERROR"], policies.map {
                [$0.member, $0.source, Self.duration($0.intervalSeconds), $0.lastSuccess ?? "never", $0.nextDue,
                 $0.harvesting ? "harvesting" : $0.state, String($0.failures), Self.harvest($0), $0.lastError ?? "-"]
            }))
        }

        static func harvest(_ body: RefreshBody) -> String {
            guard body.source == "oai" else { return "-" }
            guard let summary = body.lastHarvest else { return "none yet" }
            return "\(summary.records) records, \(summary.deleted) deleted, " + String(format: "%.1f s", summary.seconds)
        }

        static func duration(_ seconds: Int64) -> String {
            if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
            if seconds % 3_600 == 0 { return "\(seconds / 3_600)h" }
            if seconds % 60 == 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
    }
}

/// `calisd ctl verify`: SQLite's integrity check and the catalogue's invariants; exits 65 when one fails.
struct CtlVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the catalogue: SQLite's integrity_check and the union catalogue's own invariants.",
        discussion: "Runs on a read transaction while the daemon serves. Exits 0 when every check holds, 65 when one does not.")
    @OptionGroup var options: CtlOptions

    func run() async throws {
        let response = try await options.call("GET", "/v1/verify")
        let body = try options.decode(VerifyBody.self, response)
        if options.json {
            options.printRaw(response)
        } else {
            print(Table.render(["CHECK", "RESULT", "FOUND"], body.checks.map { [$0.name, $0.ok ? "ok" : "FAILED", $0.detail] }))
            print(body.ok ? "the catalogue is consistent" : "the catalogue is not consistent: see the failed checks")
        }
        if !body.ok { throw ExitCode(CalisdExit.dataError) }
    }
}

/// `calisd ctl backup FILE`: a consistent copy of the catalogue while the daemon serves.
struct CtlBackup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the catalogue to FILE with SQLite's online backup, while the daemon serves.",
        discussion: """
            The daemon writes FILE (beside it first, renamed into place when complete), so its user must be able \
            to write the folder. The copy is the catalogue at one moment; open it with sqlite3 or start a daemon on \
            it. On a terminal a progress bar shows the pages copied; the daemon's log has it too.
            """)
    @OptionGroup var options: CtlOptions
    @Argument(help: "Where to write the copy.") var file: String
    @Flag(name: .long, help: "Replace FILE if it exists.") var force = false

    func run() async throws {
        let path = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let options = self.options
        let force = self.force
        let response = try await withOperationProgress(options, kind: "backup", path: path, label: "backing up", unit: "pages") {
            try await options.call("POST", "/v1/backup", body: BackupRequestBody(path: path, replace: force))
        }
        if options.json { return options.printRaw(response) }
        let body = try options.decode(BackupBody.self, response)
        print(String(
            format: "backed up %@ (%@, %d pages) in %.1f s", body.path,
            ByteCountFormatter.string(fromByteCount: body.bytes, countStyle: .file), body.pages, body.seconds))
    }
}

/// Sends a backup or export request and, on a terminal, draws the daemon's progress on it (`GET /v1/operations`)
/// until the answer comes.
func withOperationProgress(
    _ options: CtlOptions, kind: String, path: String, label: String, unit: String,
    _ request: @escaping @Sendable () async throws -> APIClient.Response
) async throws -> APIClient.Response {
    let bar = ProgressBar()
    guard bar.enabled else { return try await request() }
    let client = try options.client()
    // Shown at once: a small catalogue's backup is over before the first answer about it.
    bar.show("\(label) (\(unit))", 0, nil)
    return try await withThrowingTaskGroup(of: APIClient.Response?.self) { group in
        group.addTask {
            while !Task.isCancelled {
                if let response = try? await client.request("GET", "/v1/operations"), response.status == 200,
                    let running = try? JSONDecoder().decode([OperationBody].self, from: Data(response.body)),
                    let operation = running.first(where: { $0.kind == kind && $0.path == path })
                {
                    bar.show("\(label) (\(unit))", Int64(operation.done), operation.total.map(Int64.init))
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }
        group.addTask { try await request() }
        defer { bar.clear() }
        while let result = try await group.next() {
            if let response = result {
                group.cancelAll()
                return response
            }
        }
        throw CancellationError()
    }
}

/// `calisd ctl export FILE`: the catalogue, or one member's records, to a file.
struct CtlExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the catalogue (one record per union record) or one member's records to FILE.",
        discussion: """
            The whole catalogue is written as for copy cataloguing: each union record's master with the union id in \
            001 and the other members' identifiers. With --member, that member's records as it sent them. The \
            daemon writes FILE (beside it first, renamed when complete) on one read transaction, so the export is \
            the catalogue at one moment; its user must be able to write the folder. On a terminal a progress bar \
            shows the records written; the daemon's log has it too.
            """)
    @OptionGroup var options: CtlOptions
    @Argument(help: "Where to write the records.") var file: String
    @Option(name: .long, help: "iso2709, marcxml or json (MARC-in-JSON, one record per line).") var format = "iso2709"
    @Option(name: .long, help: "Only this member's records.") var member: String?
    @Flag(name: .long, help: "Replace FILE if it exists.") var force = false

    func validate() throws {
        if !["iso2709", "marcxml", "json"].contains(format) { throw ValidationError("--format: iso2709, marcxml or json.") }
    }

    func run() async throws {
        let path = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let (options, request) = (self.options, ExportRequestBody(path: path, format: format, member: member, replace: force))
        let response = try await withOperationProgress(options, kind: "export", path: path, label: "exporting", unit: "records") {
            try await options.call("POST", "/v1/export", body: request)
        }
        if options.json { return options.printRaw(response) }
        let body = try options.decode(ExportBody.self, response)
        print(String(
            format: "exported %d records to %@ (%@) in %.1f s", body.records, body.path,
            ByteCountFormatter.string(fromByteCount: body.bytes, countStyle: .file), body.seconds))
    }
}

/// `calisd ctl prune`: applies `[retention]` now (the daemon also does it hourly).
struct CtlPrune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove archived files and change-log entries older than [retention] allows, now.",
        discussion: "The daemon prunes at start and every hour; this runs it at once and says what went.")
    @OptionGroup var options: CtlOptions

    func run() async throws {
        let response = try await options.call("POST", "/v1/prune")
        if options.json { return options.printRaw(response) }
        let body = try options.decode(PruneBody.self, response)
        print("pruned \(body.archivedFiles) archived file(s) (\(body.bytes) bytes) and \(body.changes) change-log entries")
    }
}
