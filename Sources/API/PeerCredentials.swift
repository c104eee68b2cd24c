#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of the Unix socket, from SO_PEERCRED: the kernel's word, not the client's.
struct PeerCredentials: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    /// Came over the loopback TCP listener (a reverse proxy): who is behind it is unknown, so never admin.
    var overTCP = false

    static let tcp = PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max, overTCP: true)

    /// Root, or a process whose primary or supplementary groups (by its user's group list) include the
    /// admin group.
    func isAdmin(adminGroup: String) -> Bool {
        if overTCP { return false }
        if uid == 0 { return true }
        guard let adminGID = Self.groupID(adminGroup) else { return false }
        if gid == adminGID { return true }
        return Self.groups(ofUser: uid, primary: gid).contains(adminGID)
    }

    static func groupID(_ name: String) -> gid_t? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }

    static func groups(ofUser uid: uid_t, primary: gid_t) -> [gid_t] {
        var passwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(uid, &passwd, &buffer, buffer.count, &result) == 0, result != nil, let name = passwd.pw_name else {
            return []
        }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, primary, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, primary, &groups, &count) >= 0 else { return [] }
        }
        return Array(groups.prefix(Int(count)))
    }
}
