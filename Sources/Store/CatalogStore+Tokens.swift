import Crypto
import Foundation
import GRDB

/// A member's token as listed: never the token itself.
public struct MemberToken: Sendable, Equatable {
    public var id: Int64
    public var member: String
    public var label: String
    public var createdAt: Int64
    public var createdBy: String
    public var revokedAt: Int64?
}

extension CatalogStore {
    /// Makes a token for `member`. The token is returned once and only its SHA-256 is kept.
    public func createToken(member: String, label: String, by actor: String, now: Int64 = Self.now()) throws -> (MemberToken, String) {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token = "calisd_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let made = try writer.write { db -> MemberToken in
            guard try Self.memberRow(db, member) != nil else { throw StoreError(.notFound, "no member \(member)") }
            try db.execute(
                sql: "INSERT INTO member_tokens (member, hash, label, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                arguments: [member, Self.tokenHash(token), label, now, actor])
            let id = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, 'member-token-created', ?, json_object('token', ?, 'by', ?))",
                arguments: [now, member, id, actor])
            return MemberToken(id: id, member: member, label: label, createdAt: now, createdBy: actor, revokedAt: nil)
        }
        return (made, token)
    }

    public func tokens(member: String? = nil) throws -> [MemberToken] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, member, label, created_at, created_by, revoked_at FROM member_tokens
                    WHERE ?1 IS NULL OR member = ?1 ORDER BY id
                    """, arguments: [member]
            ).map {
                MemberToken(
                    id: $0["id"], member: $0["member"], label: $0["label"], createdAt: $0["created_at"], createdBy: $0["created_by"],
                    revokedAt: $0["revoked_at"])
            }
        }
    }

    /// Revokes a token: the next request that shows it is refused.
    public func revokeToken(id: Int64, by actor: String, now: Int64 = Self.now()) throws -> MemberToken {
        try writer.write { db in
            guard let member = try String.fetchOne(db, sql: "SELECT member FROM member_tokens WHERE id = ?", arguments: [id]) else {
                throw StoreError(.notFound, "no token \(id); calisd ctl tokens list shows them")
            }
            try db.execute(sql: "UPDATE member_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", arguments: [now, id])
            try db.execute(
                sql: "INSERT INTO changes (at, kind, member, detail) VALUES (?, 'member-token-revoked', ?, json_object('token', ?, 'by', ?))",
                arguments: [now, member, id, actor])
            let row = try Row.fetchOne(db, sql: "SELECT label, created_at, created_by, revoked_at FROM member_tokens WHERE id = ?", arguments: [id])!
            return MemberToken(
                id: id, member: member, label: row["label"], createdAt: row["created_at"], createdBy: row["created_by"],
                revokedAt: row["revoked_at"])
        }
    }

    /// The member a token belongs to; nil for a token that is unknown or revoked.
    public func member(forToken token: String) throws -> String? {
        try writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT member FROM member_tokens WHERE hash = ? AND revoked_at IS NULL", arguments: [Self.tokenHash(token)])
        }
    }

    static func tokenHash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
