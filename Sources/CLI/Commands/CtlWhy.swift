import APITypes
import ArgumentParser
import Foundation

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
        print(String(format: "rules %@: %@ (score %.2f, a match needs %.2f and no conflict)", why.ruleVersion, why.decision, why.score, why.threshold))
        print(Table.render(["FIELD", "VERDICT", "WEIGHT", "A", "B"], why.findings.map { finding in
            [finding.field, finding.verdict, String(format: "%+.2f", finding.weight),
             Self.values(why.a, finding.field), Self.values(why.b, finding.field)]
        }))
    }

    /// The key values a finding was made on, for display.
    static func values(_ side: WhyBody.Side, _ field: String) -> String {
        let kinds: [String] =
            switch field {
            case "identifier": ["isbn", "issn", "lccn", "oclc"]
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
        commandName: "records", abstract: "Union records and members' records.", subcommands: [Show.self, CtlWhy.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A union record (CAL…) or a member's record (MEMBER:LOCALID).")
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
            options.printRaw(try await options.call("GET", target))
        }
    }
}
