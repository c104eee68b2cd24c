import Foundation
import NIOHTTP1
import Store

/// Who is asking: an admin (by the peer's credentials), a member (by its bearer token), or a peer with neither,
/// which may read what is public.
enum Caller: Equatable {
    case admin
    case member(String)
    case anonymous

    /// A bearer token names a member even from an admin's peer: a portal sending members' requests never acts
    /// with more than the member's rights. A token that is malformed, unknown or revoked is refused.
    static func of(_ request: APIRequest, store: CatalogStore, adminGroup: String) throws -> Caller {
        if let header = request.headers.first(name: "Authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw APIError.unauthorized("the Authorization header must be `Bearer TOKEN`")
            }
            guard let member = try store.member(forToken: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
                throw APIError.unauthorized("the token is not valid: unknown or revoked")
            }
            return .member(member)
        }
        return request.peer.isAdmin(adminGroup: adminGroup) ? .admin : .anonymous
    }

    /// Admin routes: members are refused, whatever their token.
    func requireAdmin() throws {
        switch self {
        case .admin: return
        case .member(let code): throw APIError(.forbidden, "forbidden", "admin only: member \(code)'s token does not reach admin routes")
        case .anonymous: throw APIError.forbidden
        }
    }

    /// A member's own data (its uploads, files and reports): that member or an admin.
    func requireMemberOrAdmin(_ code: String) throws {
        switch self {
        case .admin: return
        case .member(let own) where own == code: return
        case .member(let own): throw APIError(.forbidden, "forbidden", "member \(own) cannot reach member \(code)'s files")
        case .anonymous: throw APIError.unauthorized("send member \(code)'s token: Authorization: Bearer TOKEN (calisd ctl tokens create \(code))")
        }
    }
}
