import APITypes
import ArgumentParser
import Foundation

/// `calisd ctl tokens create|list|revoke`: members' bearer tokens.
struct CtlTokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Members' bearer tokens: create (shown once), list, revoke.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token for a member; it is printed once and only its hash is kept.",
            discussion: "The member sends it as `Authorization: Bearer TOKEN` to upload its files and read its own reports.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The member's code.") var code: String
        @Option(name: .long, help: "What the token is for (the portal, the person).") var label: String?

        func run() async throws {
            let response = try await options.call(
                "POST", "/v1/members/\(CtlPath.segment(code))/tokens", body: NewTokenBody(label: label))
            if options.json { return options.printRaw(response) }
            let token = try options.decode(TokenBody.self, response)
            print("token \(token.id) for \(token.member) (shown once; keep it safe):")
            print(token.token ?? "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token, or one member's: id, label, made, revoked.")
        @OptionGroup var options: CtlOptions
        @Option(name: .long, help: "Only this member's tokens.") var member: String?

        func run() async throws {
            let response = try await options.call("GET", "/v1/tokens" + (member.map { "?member=\(CtlPath.segment($0))" } ?? ""))
            if options.json { return options.printRaw(response) }
            let tokens = try options.decode([TokenBody].self, response)
            if tokens.isEmpty {
                print("no tokens; make one with calisd ctl tokens create CODE")
                return
            }
            print(Table.render(["ID", "MEMBER", "LABEL", "CREATED", "BY", "REVOKED"], tokens.map {
                [String($0.id), $0.member, $0.label.isEmpty ? "-" : $0.label, $0.createdAt, $0.createdBy, $0.revokedAt ?? "-"]
            }))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id: it stops working at once.")
        @OptionGroup var options: CtlOptions
        @Argument(help: "The token's id (calisd ctl tokens list).") var id: Int64

        func run() async throws {
            let response = try await options.call("POST", "/v1/tokens/\(id)/revoke")
            if options.json { return options.printRaw(response) }
            let token = try options.decode(TokenBody.self, response)
            print("token \(token.id) of \(token.member) revoked at \(token.revokedAt ?? "-")")
        }
    }
}
