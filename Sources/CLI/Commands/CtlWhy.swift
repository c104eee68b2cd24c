import APIClient
import APITypes
import ArgumentParser
import Foundation
import MARC

/// `calisd ctl why A B` (also `calisd ctl records why A B`): the engine's comparison of two records.
struct CtlWhy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Explain how the engine compares two records, field by field.",
        discussion: "A and B are MEMBER:LOCALID or union ids (CAL…, standing for the union record's master).")

    @OptionGroup var options: CtlOptions
    @Argument(help: "The first record.") var a: String
    @Argument(help: "The second record.") var b: String

    func run() async throws {
        let query = "a=\(CtlPath.segment(a))&b=\(CtlPath.segment(b))"
        let response = try await options.call("GET", "/v1/why?" + query)
        if options.json { return options.printRaw(response) }
        let why = try options.decode(WhyBody.self, response)
        func name(_ side: WhyBody.Side) -> String { "\(side.member):\(side.localID)" + (side.unionID.map { " in \($0)" } ?? "") }
        print("\(name(why.a))\n\(name(why.b))")
        print(why.sameUnion ? "in the same union record" : "in different union records")
        for side in [why.a, why.b] {
            if let placement = side.placement { print("stored: \(side.member):\(side.localID) " + Self.describe(placement)) }
        }
        print("now:")
        print(String(format: "rules %@: %@ (score %.2f, a match needs %.2f and no conflict)", why.ruleVersion, why.decision, why.score, why.threshold))
        print(Table.render(["FIELD", "VERDICT", "WEIGHT", "A", "B"], why.findings.map { finding in
            [finding.field, finding.verdict, String(format: "%+.2f", finding.weight),
             Self.values(why.a, finding.field), Self.values(why.b, finding.field)]
        }))
    }

    /// A stored placement in one line.
    static func describe(_ placement: WhyBody.Placement) -> String {
        let when = placement.decidedAt.map { " on \($0)" } ?? ""
        let rules = placement.ruleVersion.map { "rules \($0)" } ?? "rules unknown"
        switch placement.decision {
        case "matched":
            let score = placement.score.map { String(format: ", score %.2f", $0) } ?? ""
            let against = placement.comparedWith.map { " against \($0)" } ?? ""
            let fields = (placement.findings ?? []).map { "\($0.field) \($0.verdict)" }.joined(separator: ", ")
            return "joined\(when): matched\(against) (\(rules)\(score))" + (fields.isEmpty ? "" : ": " + fields)
        case "new":
            let near = placement.nearMiss.map { "; near miss with \($0), queued for review" } ?? ""
            return "started its union record\(when): no match among \(placement.candidates ?? 0) candidates (\(rules))\(near)"
        default:
            return "placed\(when) by \(placement.decision) (\(rules))"
        }
    }

    /// The key values a finding was made on, for display.
    static func values(_ side: WhyBody.Side, _ field: String) -> String {
        let kinds: [String] =
            switch field {
            case "identifier": ["isbn", "issn", "lccn", "oclc", "csbn", "sysno"]
            case "year+imprint": ["year", "publisher", "extent"]
            case "title-change": ["title", "related-title"]
            case "issn/keytitle": ["issn", "keytitle"]
            case "rare-book": ["language", "year"]
            default: [field]
            }
        let values = kinds.flatMap { side.keys[$0] ?? [] }
        let text = values.joined(separator: "; ")
        return text.count > 40 ? String(text.prefix(39)) + "…" : (text.isEmpty ? "-" : text)
    }
}

/// `calisd ctl records …`: one record, and why two records are or are not one.
struct CtlRecords: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "Union records and members' records: show, search, why, merge, split, unlink, lock.",
        subcommands: [Show.self, Search.self, CtlWhy.self, Merge.self, Split.self, Unlink.self, Lock.self])

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find union records by words of their titles, authors and publishers, in any script.",
            discussion: """
                Every word must match; Chinese, Japanese and Korean match as written (a two-character word or a longer \
                fragment; traditional or simplified Chinese alike). A trailing * makes a word a prefix. Best first; \
                --cursor continues where the previous page's "next" said.
                """)
        @OptionGroup var options: CtlOptions
        @Argument(help: "Words to find in any of title, author and publisher.") var words: [String] = []
        @Option(name: .long, help: "Words of the title.") var title: String?
        @Option(name: .long, help: "Words of an author's name.") var author: String?
        @Option(name: .long, help: "Words of the publisher's name.") var publisher: String?
        @Option(name: .long, help: "Results per page, 1 to 100.") var limit: Int = 20
        @Option(name: .long, help: "The next page's cursor.") var cursor: String?

        func validate() throws {
            guard !words.isEmpty || title != nil || author != nil || publisher != nil else {
                throw ValidationError("Say what to find: words, or --title, --author, --publisher.")
            }
            guard (1...100).contains(limit) else { throw ValidationError("--limit must be from 1 to 100.") }
        }

        func run() async throws {
            var query = [("limit", String(limit))]
            if !words.isEmpty { query.append(("q", words.joined(separator: " "))) }
            for (name, value) in [("title", title), ("author", author), ("publisher", publisher), ("cursor", cursor)] {
                if let value { query.append((name, value)) }
            }
            let target = "/v1/search?" + query.map { "\($0.0)=\(CtlPath.segment($0.1))" }.joined(separator: "&")
            let response = try await options.call("GET", target)
            if options.json { return options.printRaw(response) }
            let page = try options.decode(SearchResultsBody.self, response)
            if page.records.isEmpty {
                print("nothing found")
                return
            }
            print(Table.render(["UNION RECORD", "TITLE", "AUTHOR", "PUBLISHER", "YEAR", "HELD BY"], page.records.map {
                [$0.id, [$0.vernacularTitle, $0.title].compactMap { $0 }.joined(separator: " = "), $0.author ?? "-", $0.publisher ?? "-",
                 $0.year ?? "-", $0.members.joined(separator: ",")]
            }))
            if let next = page.next { print("more: calisd ctl records search … --cursor \(next)") }
        }
    }

    /// merge, split and unlink: the same request to three routes.
    static func link(_ options: CtlOptions, _ action: String, _ a: String, _ b: String, _ done: String) async throws {
        let response = try await options.call("POST", "/v1/records/\(action)", body: LinkRequestBody(a: a, b: b))
        if options.json { return options.printRaw(response) }
        let result = try options.decode(LinkResultBody.self, response)
        print("\(a) and \(b) \(done): \(a) in \(result.aUnion ?? "no union record"), \(b) in \(result.bUnion ?? "no union record")")
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Always keep two records in one union record (a must-link that outlives re-submissions).")
        @OptionGroup var options: CtlOptions
        @Argument(help: "MEMBER:LOCALID") var a: String
        @Argument(help: "MEMBER:LOCALID, moved into the first's union record") var b: String
        func run() async throws { try await CtlRecords.link(options, "merge", a, b, "are linked") }
    }

    struct Split: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Never keep two records in one union record (a cannot-link that outlives re-submissions).")
        @OptionGroup var options: CtlOptions
        @Argument(help: "MEMBER:LOCALID") var a: String
        @Argument(help: "MEMBER:LOCALID, moved out of the first's union record") var b: String
        func run() async throws { try await CtlRecords.link(options, "split", a, b, "are kept apart") }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an override: the rules decide again.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "MEMBER:LOCALID") var a: String
        @Argument(help: "MEMBER:LOCALID, placed again by the rules") var b: String
        func run() async throws { try await CtlRecords.link(options, "unlink", a, b, "are unlinked") }
    }

    struct Lock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lock a member's record so re-submissions do not overwrite a central correction.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "MEMBER:LOCALID") var record: String
        @Flag(name: .long, help: "Unlock instead.") var unlock = false
        func run() async throws {
            let response = try await options.call("POST", "/v1/records/lock", body: LockRequestBody(record: record, locked: !unlock))
            if options.json { return options.printRaw(response) }
            print("\(record) \(unlock ? "unlocked" : "locked")")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A union record (CAL…) or a member's record (MEMBER:LOCALID).",
            discussion: """
                A union record: its master, members, merged identifiers, holdings and source records, then the \
                record for copy cataloguing as MARC text. A member's record: where it stands, then the record as \
                the member sent it. --json prints the daemon's answer as it is.
                """)
        @OptionGroup var options: CtlOptions
        @Argument var id: String

        func run() async throws {
            let target: String
            if id.hasPrefix("CAL") {
                target = "/v1/records/\(CtlPath.segment(id))"
            } else {
                let parts = id.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("a record is CAL… or MEMBER:LOCALID") }
                target = "/v1/members/\(CtlPath.segment(parts[0]))/records/\(CtlPath.segment(parts[1]))"
            }
            let response = try await options.call("GET", target)
            if options.json { return options.printRaw(response) }
            if id.hasPrefix("CAL") {
                let union = try options.decode(UnionRecordBody.self, response)
                if let survivor = union.redirectTo {
                    print("\(union.id) was merged into \(survivor): calisd ctl records show \(survivor)")
                    return
                }
                print("\(union.id) (\(union.status)), master \(union.master ?? "none"), held by \(union.members.joined(separator: ", "))")
                for (kind, values) in union.identifiers.sorted(by: { $0.key < $1.key }) {
                    print("\(kind): \(values.joined(separator: ", "))")
                }
                if !union.holdings.isEmpty {
                    print(Table.render(["HOLDER", "LOCATION", "CALL NUMBER", "COPIES", "SUMMARY", "FROM", "STALE"], union.holdings.map {
                        [$0.holder, $0.location ?? "-", $0.callNumber ?? "-", $0.items.map(String.init) ?? "-", $0.summary ?? "-",
                         "\($0.source.kind) \($0.source.localID)", $0.stale ? "stale" : ""]
                    }))
                }
                print("source records: " + union.sources.map { "\($0.member):\($0.localID)" }.joined(separator: ", "))
            } else {
                let record = try options.decode(SourceRecordBody.self, response)
                print("\(record.member):\(record.localID) (\(record.status)\(record.locked ? ", locked" : "")) in \(record.unionID ?? "no union record"), \(record.flavour), received as \(record.originalEncoding), updated \(record.updatedAt)")
            }
            let marc = try await options.call("GET", target + "?format=iso2709")
            var text: [UInt8] = []
            let writer = MARCStreamWriter(format: .text)
            if let reader = try? MARCReaders.open(bytes: marc.body).reader, let item = try? reader.next(), let record = item.record {
                try writer.write(record, into: &text)
                print(String(decoding: text, as: UTF8.self), terminator: "")
            }
        }
    }
}
