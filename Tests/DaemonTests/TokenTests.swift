import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Member identity: bearer tokens, shown once and kept hashed; members write only their own data, read only
/// their own reports, never reach admin routes; a revoked token stops at once.
@Suite("member tokens")
struct TokenTests {
    static let nobody: UInt32 = 65534

    /// curl as a peer that is not admin, with a token when given; returns the body and the status.
    static func call(_ daemon: DaemonProcess, _ arguments: [String], token: String?) throws -> (status: Int, body: String) {
        let auth = token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []
        let result = try SocketAPITests.curl(daemon, auth + arguments, as: nobody)
        let lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last?.split(separator: " ").first ?? "") ?? 0
        return (status, lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func upload(_ daemon: DaemonProcess, to member: String, token: String?) throws -> (status: Int, body: String) {
        try call(
            daemon,
            ["-X", "POST", "--data-binary", "@" + DaemonSupport.fixtures.appendingPathComponent("loc-books-50.mrc").path,
             "http://calisd/v1/members/\(member)/files?name=books.mrc"],
            token: token)
    }

    static func create(_ daemon: DaemonProcess, _ member: String) throws -> TokenBody {
        let result = try daemon.ctl("--json", "tokens", "create", member, "--label", "portal")
        #expect(result.status == 0, "\(result.stderrText)")
        return try JSONDecoder().decode(TokenBody.self, from: result.stdout)
    }

    @Test("a member uploads for itself only, reads its own reports only, never reaches admin routes; no token is 401; revoked is 401 at once")
    func memberRights() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        defer { daemon.remove() }
        chmod(daemon.socketPath, 0o666)
        let first = try Self.create(daemon, "M001")
        let second = try Self.create(daemon, "M002")
        let token = try #require(first.token)
        #expect(token.hasPrefix("calisd_") && token.count > 40)

        // Shown once: the list has no token, and the database keeps only its hash.
        let listed = try daemon.ctl("--json", "tokens", "list", "--member", "M001")
        #expect(!listed.stdoutText.contains(token) && listed.stdoutText.contains("portal"))
        let stored = try ProcessRunner.run("sqlite3", [daemon.stateDirectory + "/catalogue.sqlite", ".timeout 10000", "SELECT quote(hash) FROM member_tokens"])
        #expect(!stored.stdoutText.contains(token) && stored.stdoutText.split(separator: "\n").count == 2)

        // Uploads: its own, yes; another member's, 403; none, 401.
        let own = try Self.upload(daemon, to: "M001", token: token)
        #expect(own.status == 202, "\(own)")
        #expect(try Self.upload(daemon, to: "M002", token: token).status == 403)
        let anonymous = try Self.upload(daemon, to: "M001", token: nil)
        #expect(anonymous.status == 401 && anonymous.body.contains("Authorization: Bearer"), "\(anonymous)")
        let file = try JSONDecoder().decode(FileBody.self, from: Data(own.body.utf8))
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)

        // Reports and files: its own, yes; another member's, 403; none, 401.
        #expect(try Self.call(daemon, ["http://calisd/v1/files/\(file.id)/report"], token: token).status == 200)
        #expect(try Self.call(daemon, ["http://calisd/v1/files/\(file.id)/report"], token: second.token).status == 403)
        #expect(try Self.call(daemon, ["http://calisd/v1/files/\(file.id)/report"], token: nil).status == 401)
        #expect(try Self.call(daemon, ["http://calisd/v1/members/M001/files"], token: second.token).status == 403)
        let mine = try Self.call(daemon, ["http://calisd/v1/files"], token: second.token)
        #expect(mine.status == 200 && mine.body == "[]", "M002 lists its own files only: \(mine)")
        #expect(try Self.call(daemon, ["http://calisd/v1/files?member=M001"], token: second.token).status == 403)

        // Public reads need no token.
        #expect(try Self.call(daemon, ["http://calisd/v1/search?q=botanical"], token: nil).status == 200)
        #expect(try Self.call(daemon, ["http://calisd/v1/search?q=botanical"], token: token).status == 200)

        // Admin routes refuse members, even from an admin's own peer (root here).
        #expect(try Self.call(daemon, ["http://calisd/v1/refresh"], token: token).status == 403)
        let asRoot = try SocketAPITests.curl(daemon, ["-H", "Authorization: Bearer \(token)", "http://calisd/v1/tokens"])
        #expect(asRoot.stdoutText.contains("\n403 "), "\(asRoot.stdoutText)")
        #expect(try Self.call(daemon, ["-X", "POST", "http://calisd/v1/members/M001/tokens"], token: token).status == 403)

        // Revoked: refused at once, everywhere.
        let revoke = try daemon.ctl("tokens", "revoke", String(first.id))
        #expect(revoke.status == 0, "\(revoke.stderrText)")
        let after = try Self.upload(daemon, to: "M001", token: token)
        #expect(after.status == 401 && after.body.contains("unknown or revoked"), "\(after)")
        #expect(try Self.call(daemon, ["http://calisd/v1/search?q=botanical"], token: token).status == 401)
        #expect(try Self.upload(daemon, to: "M002", token: second.token).status == 202)
    }

    @Test("a malformed Authorization or token, and bad token commands, are refused with what to do", arguments: [
        (["-H", "Authorization: Basic dXNlcjpwYXNz"], "must be `Bearer TOKEN`"),
        (["-H", "Authorization: Bearer"], "must be `Bearer TOKEN`"),
        (["-H", "Authorization: Bearer calisd_forged"], "unknown or revoked"),
    ])
    func malformed(arguments: [String], message: String) async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        chmod(daemon.socketPath, 0o666)
        let result = try SocketAPITests.curl(daemon, arguments + ["http://calisd/v1/search?q=x"], as: Self.nobody)
        #expect(result.stdoutText.contains("\n401 ") && result.stdoutText.contains(message), "\(result.stdoutText)")
        let unknown = try daemon.ctl("tokens", "create", "NOPE")
        #expect(unknown.status == 1 && unknown.stderrText.contains("no member NOPE"))
        let revoke = try daemon.ctl("tokens", "revoke", "999")
        #expect(revoke.status == 1 && revoke.stderrText.contains("no token 999"))
        let word = try daemon.ctl("tokens", "revoke", "abc")
        #expect(word.status == 64)
    }
}
