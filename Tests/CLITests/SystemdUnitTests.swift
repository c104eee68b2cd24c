import CalisdTesting
import Foundation
import Testing

/// The systemd units in systemd/: systemd's own checks pass, hardening scores at most 2.0, and the settings
/// calisd depends on are there.
@Suite("systemd units")
struct SystemdUnitTests {
    static let units = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("systemd")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: units.appendingPathComponent(name), encoding: .utf8)
    }

    @Test(
        "systemd-analyze verify finds nothing and security --offline scores calisd.service at most 2.0",
        .enabled(if: ProcessRunner.find("systemd-analyze") != nil, "needs systemd-analyze (Debian's systemd)"))
    func systemdAnalyze() throws {
        let analyze = try #require(ProcessRunner.find("systemd-analyze"))
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // The unit as installed names /usr/bin/calisd; here it names the binary just built, which verify runs checks on.
        let service = try Self.text("calisd.service").replacingOccurrences(of: "/usr/bin/calisd", with: MarcCommandTests.binary)
        try service.write(to: scratch.appendingPathComponent("calisd.service"), atomically: true, encoding: .utf8)
        try Self.text("calisd.socket").write(to: scratch.appendingPathComponent("calisd.socket"), atomically: true, encoding: .utf8)
        let verify = try ProcessRunner.run(analyze, [
            "verify", "--man=no", scratch.appendingPathComponent("calisd.service").path, scratch.appendingPathComponent("calisd.socket").path,
        ])
        #expect(verify.status == 0 && verify.stderrText.isEmpty && verify.stdoutText.isEmpty, "\(verify.stdoutText)\(verify.stderrText)")
        let security = try ProcessRunner.run(analyze, [
            "security", "--offline=true", "--threshold=20", scratch.appendingPathComponent("calisd.service").path,
        ])
        #expect(security.status == 0, "\(security.stdoutText.suffix(400))")
        #expect(security.stdoutText.contains("Overall exposure level for calisd.service: 1."), "\(security.stdoutText.suffix(200))")
    }

    @Test("the units carry what calisd needs: notify and watchdog, reload by SIGHUP, a preserved runtime folder, a 0660 socket with a deep backlog, no PrivateUsers")
    func settingsCalisdNeeds() throws {
        let service = try Self.text("calisd.service")
        for line in ["Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "RuntimeDirectoryPreserve=yes", "StateDirectory=calisd",
                     "ConfigurationDirectory=calisd", "User=calisd", "LimitNOFILE=", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                     "CapabilityBoundingSet=\n", "RestartPreventExitStatus=74 78"] {
            #expect(service.contains(line), "calisd.service lacks \(line)")
        }
        #expect(!service.contains("\nPrivateUsers="), "PrivateUsers would hide admin_group from SO_PEERCRED")
        let socket = try Self.text("calisd.socket")
        #expect(socket.contains("ListenStream=/run/calisd/calisd.sock") && socket.contains("SocketMode=0660") && socket.contains("SocketGroup=calisd"))
        let backlog = socket.split(separator: "\n").first { $0.hasPrefix("Backlog=") }.flatMap { Int($0.dropFirst(8)) } ?? 0
        #expect(backlog >= 1024)
        #expect(try Self.text("calisd.sysusers").contains("u calisd "))
        #expect(try Self.text("calisd.tmpfiles").contains("/srv/calisd/drop 0770 calisd calisd"))
        // The production configuration names the same places.
        let config = try String(contentsOf: Self.units.deletingLastPathComponent().appendingPathComponent("etc/calisd.toml"), encoding: .utf8)
        #expect(config.contains("state_dir = \"/var/lib/calisd\"") && config.contains("drop_dir = \"/srv/calisd/drop\"")
            && config.contains("socket = \"/run/calisd/calisd.sock\""))
    }
}
