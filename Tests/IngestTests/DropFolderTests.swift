import Foundation
import Testing

@testable import Ingest

@Suite("Drop folder: what is taken, what waits, what is refused; settling; claiming")
struct DropFolderTests {
    static func scratch(in base: String = FileManager.default.temporaryDirectory.path) throws -> String {
        let path = "\(base)/calisd-drop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ path: String, _ text: String = "00026     2200025   4500\u{1E}\u{1D}") throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("a member folder's entries are classified by SPEC §4, and nothing is followed")
    func classification() throws {
        let drop = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: drop) }
        let folder = "\(drop)/M001"
        try FileManager.default.createDirectory(atPath: "\(folder)/reports", withIntermediateDirectories: true)
        try Self.write("\(folder)/good.mrc")
        for name in [".hidden.mrc", "upload.mrc.part", "upload.tmp", "winscp.filepart"] { try Self.write("\(folder)/\(name)") }
        // A symlink to a file outside the drop tree: refused, and its target never opened.
        let secret = "\(drop)/secret.mrc"
        try Self.write(secret)
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/link.mrc", withDestinationPath: secret)
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/dangling.mrc", withDestinationPath: "/nonexistent")
        // A hard link: the same file under two names.
        try Self.write("\(folder)/first.mrc")
        try FileManager.default.linkItem(atPath: "\(folder)/first.mrc", toPath: "\(folder)/second.mrc")
        try FileManager.default.createDirectory(atPath: "\(folder)/subfolder", withIntermediateDirectories: true)
        #expect(mkfifo("\(folder)/pipe", 0o600) == 0)
        try Self.write("\(folder)/bad\u{07}name.mrc")
        try Self.write("\(folder)/back\\slash.mrc")

        let entries = try DropFolder.scan(memberFolder: folder, member: "M001")
        func kind(_ name: String) -> DropEntry.Kind? { entries.first { $0.name == name }?.kind }
        guard case .candidate(let size, _) = kind("good.mrc") else { Issue.record("good.mrc is not a candidate"); return }
        #expect(size == 26)
        for name in [".hidden.mrc", "upload.mrc.part", "upload.tmp", "winscp.filepart"] { #expect(kind(name) == .waiting, "\(name)") }
        for name in ["link.mrc", "dangling.mrc", "first.mrc", "second.mrc", "subfolder", "pipe", "bad\u{07}name.mrc", "back\\slash.mrc"] {
            guard case .refused = kind(name) else {
                Issue.record("\(name.debugDescription) is not refused: \(String(describing: kind(name)))")
                continue
            }
        }
        #expect(!entries.contains { $0.name == "reports" })
        #expect(entries.allSatisfy { $0.member == "M001" })
    }

    @Test("member folders must be named by member codes; anything else at the top is refused")
    func memberFolders() throws {
        let drop = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: drop) }
        for name in ["M001", "lib_2-x", String(repeating: "A", count: 32)] {
            try FileManager.default.createDirectory(atPath: "\(drop)/\(name)", withIntermediateDirectories: true)
        }
        for name in ["bad code", String(repeating: "B", count: 33), "é"] {
            try FileManager.default.createDirectory(atPath: "\(drop)/\(name)", withIntermediateDirectories: true)
        }
        try Self.write("\(drop)/stray.mrc")
        let found = try DropFolder.memberFolders(in: drop)
        #expect(found.members == [String(repeating: "A", count: 32), "M001", "lib_2-x"])
        #expect(Set(found.refused.map(\.name)) == ["bad code", String(repeating: "B", count: 33), "é", "stray.mrc"])
        #expect(throws: IngestError.self) { try DropFolder.memberFolders(in: "\(drop)/missing") }
    }

    @Test("a file is taken once unchanged for settle_seconds; a change restarts the wait; a rename is taken at once")
    func settleRule() {
        var rule = SettleRule(settleSeconds: 2)
        let second: Int64 = 1_000_000_000
        var taken: [Bool] = []
        taken.append(rule.observe(path: "a", size: 10, modified: 1, now: 0))
        taken.append(rule.observe(path: "a", size: 10, modified: 1, now: 1 * second))
        taken.append(rule.observe(path: "a", size: 20, modified: 2, now: 2 * second))  // still growing
        taken.append(rule.observe(path: "a", size: 20, modified: 2, now: 3 * second))
        #expect(taken == [false, false, false, false])
        #expect(rule.pending == 1)
        let settled = rule.observe(path: "a", size: 20, modified: 2, now: 4 * second)
        #expect(settled)
        #expect(rule.pending == 0)
        let renamed = rule.observe(path: "b", size: 5, modified: 9, now: 0, renamedIntoPlace: true)
        #expect(renamed)
    }

    @Test("claiming renames within a filesystem and copies safely across filesystems; the member's file is gone")
    func claim() throws {
        let drop = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: drop) }
        try Self.write("\(drop)/same.mrc", "same filesystem")
        try Self.write("\(drop)/other.mrc", "other filesystem")
        #expect(try Claim.move("\(drop)/same.mrc", to: "\(drop)/spooled.mrc") == false)
        #expect(!FileManager.default.fileExists(atPath: "\(drop)/same.mrc"))
        #expect(try String(contentsOfFile: "\(drop)/spooled.mrc", encoding: .utf8) == "same filesystem")

        // /dev/shm is tmpfs, another filesystem than the temporary folder's disk: rename fails with EXDEV.
        guard FileManager.default.isWritableFile(atPath: "/dev/shm") else { return }
        let spool = try Self.scratch(in: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let copied = try Claim.move("\(drop)/other.mrc", to: "\(spool)/other.mrc")
        #expect(copied)
        #expect(!FileManager.default.fileExists(atPath: "\(drop)/other.mrc"))
        #expect(try String(contentsOfFile: "\(spool)/other.mrc", encoding: .utf8) == "other filesystem")
        #expect(!FileManager.default.fileExists(atPath: "\(spool)/other.mrc.claiming"))

        // A file that is gone is a clear error, and nothing is created.
        #expect(throws: IngestError.self) { try Claim.move("\(drop)/missing.mrc", to: "\(spool)/missing.mrc") }
        #expect(!FileManager.default.fileExists(atPath: "\(spool)/missing.mrc"))
    }
}
