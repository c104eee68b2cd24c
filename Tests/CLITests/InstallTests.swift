import CalisdTesting
import Foundation
import Testing

/// `make install` into a DESTDIR: the tree Debian expects, an installed binary that reads the installed
/// configuration, a site's configuration never overwritten, and `make uninstall`.
@Suite("make install")
struct InstallTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("install puts binary, units, sysusers, tmpfiles, config and completions in place; the installed calisd checks the installed config",
        .enabled(if: ProcessRunner.find("make") != nil, "needs make"))
    func installAndUninstall() throws {
        let make = try #require(ProcessRunner.find("make"))
        let destination = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: destination) }
        let arguments = ["-C", Self.repository.path, "BINARY=\(MarcCommandTests.binary)", "DESTDIR=\(destination.path)", "PREFIX=/usr/local"]
        let install = try ProcessRunner.run(make, arguments + ["install-files"])
        #expect(install.status == 0, "\(install.stderrText)")
        let files = [
            "usr/local/bin/calisd", "usr/local/lib/systemd/system/calisd.service", "usr/local/lib/systemd/system/calisd.socket",
            "usr/local/lib/sysusers.d/calisd.conf", "usr/local/lib/tmpfiles.d/calisd.conf", "etc/calisd/calisd.toml",
            "usr/local/share/bash-completion/completions/calisd", "usr/local/share/zsh/vendor-completions/_calisd",
            "usr/local/share/fish/vendor_completions.d/calisd.fish", "usr/local/share/man/man1/calisd.1",
        ]
        for file in files {
            #expect(FileManager.default.fileExists(atPath: destination.appendingPathComponent(file).path), "\(file) missing")
        }
        let unit = try String(contentsOf: destination.appendingPathComponent("usr/local/lib/systemd/system/calisd.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/calisd serve --config /etc/calisd/calisd.toml"))
        let config = destination.appendingPathComponent("etc/calisd/calisd.toml").path
        let check = try ProcessRunner.run(destination.appendingPathComponent("usr/local/bin/calisd").path, ["check-config", "--config", config])
        #expect(check.status == 0 && check.stdoutText.contains("state_dir: /var/lib/calisd"), "\(check.stderrText)")
        let completion = try String(contentsOf: destination.appendingPathComponent("usr/local/share/bash-completion/completions/calisd"), encoding: .utf8)
        #expect(completion.contains("_calisd"))

        // A site's configuration survives a reinstall, and uninstall.
        try "# the site's own\\nstate_dir = \"/srv/state\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try ProcessRunner.run(make, arguments + ["install-files"]).status == 0)
        #expect(try String(contentsOfFile: config, encoding: .utf8).contains("/srv/state"))
        #expect(try ProcessRunner.run(make, arguments + ["uninstall"]).status == 0)
        for file in files where file != "etc/calisd/calisd.toml" {
            #expect(!FileManager.default.fileExists(atPath: destination.appendingPathComponent(file).path), "\(file) left behind")
        }
        #expect(FileManager.default.fileExists(atPath: config))
    }

    @Test("the committed man page documents every calisd and calisd ctl command the binary has (regenerate with make man)")
    func manPageIsCurrent() throws {
        let page = try String(contentsOf: Self.repository.appendingPathComponent("man/calisd.1"), encoding: .utf8)
        for arguments in [["--help"], ["ctl", "--help"]] {
            let help = try ProcessRunner.run(MarcCommandTests.binary, arguments)
            let section = help.stdoutText.components(separatedBy: "SUBCOMMANDS:").last ?? ""
            let commands = section.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                // A command's line starts two spaces in; its wrapped description further in.
                guard line.hasPrefix("  "), !line.hasPrefix("   "), let first = words.first, !first.hasPrefix("-"), first != "See" else {
                    return nil
                }
                return String(first)
            }
            #expect(commands.count >= 5, "\(help.stdoutText)")
            for command in commands where command != "help" {
                #expect(page.contains(".It Em \(command)"), "man/calisd.1 lacks \(arguments.first == "ctl" ? "ctl " : "")\(command): make man")
            }
        }
    }
}
