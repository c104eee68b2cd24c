import APITypes
import ArgumentParser
import Foundation

/// `calisd ctl review list|accept|reject`: near misses the rules left for a person.
struct CtlReview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review", abstract: "Near misses left for a person: list, accept (merge), reject (keep apart).",
        subcommands: [List.self, Accept.self, Reject.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The review queue, oldest first.")
        @OptionGroup var options: CtlOptions
        @Option(name: .long, help: "open (default), accepted or rejected.") var state = "open"

        func run() async throws {
            let response = try await options.call("GET", "/v1/review?state=\(CtlPath.segment(state))")
            if options.json { return options.printRaw(response) }
            let items = try options.decode([ReviewBody].self, response)
            print(Table.render(["ID", "RECORD", "UNION", "MASTER", "SCORE", "STATE"], items.map {
                [String($0.id), $0.record, $0.unionID, $0.master ?? "-", String(format: "%.2f", $0.score), $0.state]
            }))
            if !items.isEmpty { print("\n`calisd ctl why RECORD MASTER` shows the evidence.") }
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Merge the record into the union record (a must-link).")
        @OptionGroup var options: CtlOptions
        @Argument var id: Int64
        func run() async throws { try await CtlReview.decide(options, id, "accept") }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep the record out of the union record (a cannot-link).")
        @OptionGroup var options: CtlOptions
        @Argument var id: Int64
        func run() async throws { try await CtlReview.decide(options, id, "reject") }
    }

    static func decide(_ options: CtlOptions, _ id: Int64, _ action: String) async throws {
        let response = try await options.call("POST", "/v1/review/\(id)/\(action)")
        if options.json { return options.printRaw(response) }
        let item = try options.decode(ReviewBody.self, response)
        print("review \(id): \(item.record) \(item.state) for \(item.unionID)")
    }
}
