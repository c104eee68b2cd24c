import CalisdTesting
import Foundation
import Testing

/// `calisd marc …` run as a real process: output, exit status, and what broken input and bad arguments do.
@Suite("calisd marc")
struct MarcCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MARCTests/Fixtures")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The `calisd` built beside this test binary.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test binary may sit inside an .xctest bundle directory.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("calisd").path),
            directory.path != "/"
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("calisd").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func calisd(_ arguments: String...) throws -> Result {
        let output = try ProcessRunner.run(binary, arguments)
        return Result(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("dump --to json writes the code4lib form, one record per line")
    func dumpJSON() throws {
        let result = try Self.calisd("marc", "dump", "--to", "json", Self.fixture("loc-books-50.mrc"))
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 50)
        #expect(lines[0].hasPrefix(#"{"leader":"00720cam a22002051  4500","fields":[{"001":"   00000002 "},"#))
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["fields"] is [Any])
        }
        #expect(result.stderr.isEmpty)
    }

    @Test("dump --to xml and --to text, and gzip input read by content")
    func dumpOtherFormats() throws {
        let xml = try Self.calisd("marc", "dump", "--to", "xml", Self.fixture("file-marc-compressed.mrc.gz"))
        #expect(xml.status == 0)
        #expect(xml.stdout.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">"))
        #expect(xml.stdout.components(separatedBy: "<record>").count - 1 == 3)
        let text = try Self.calisd("marc", "dump", Self.fixture("loc-books-50.mrc"))
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("=LDR  00720cam\\a22002051\\\\4500\n=001  \\\\\\00000002\\\n"))
    }

    @Test("dump shows what it recovered, reports on standard error and exits 1 on an error")
    func dumpBrokenInput() throws {
        let result = try Self.calisd("marc", "dump", "--to", "json", Self.fixture("marc4j-008008027-truncated.mrc"))
        #expect(result.status == 1)
        #expect(result.stdout.split(separator: "\n").count == 19)
        #expect(result.stderr.contains("record 19 (001 58-008008027) at byte 62502: error: truncated"))
    }

    @Test("validate prints one line per problem with record number, 001 and offset, and exits 1 on errors")
    func validate() throws {
        let bad = try Self.calisd("marc", "validate", Self.fixture("pymarc-bad_records.mrc"))
        #expect(bad.status == 1)
        let lines = bad.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasSuffix("record 2 at byte 127: warning: base-address: leader gives base address 99937, the directory ends at 37") })
        #expect(lines.last == "9 record(s), 4 error(s), 7 warning(s)")
        let good = try Self.calisd("marc", "validate", Self.fixture("loc-books-50.mrc"), Self.fixture("loc-cjk-20.mrc"))
        #expect(good.status == 0)
        #expect(good.stdout == "70 record(s), 0 error(s), 0 warning(s)\n")
        let quiet = try Self.calisd("marc", "validate", "--quiet", Self.fixture("file-marc-wronglen.mrc"))
        #expect(quiet.status == 0)
        #expect(quiet.stdout == "1 record(s), 0 error(s), 3 warning(s)\n")
    }

    @Test("stats counts records, fields, subfields, flavours, encodings and diagnostics")
    func stats() throws {
        let result = try Self.calisd(
            "marc", "stats", "--json", Self.fixture("loc-books-50.mrc"), Self.fixture("dp2-bnu-cnmarc-sru.xml"),
            Self.fixture("pymarc-batch.json"))
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["records"] as? Int == 62)
        #expect((object["flavours"] as? [String: Int])?["cnmarc"] == 10)
        #expect((object["formats"] as? [String: Int]) == ["iso2709": 1, "marcxml": 1, "json": 1])
        #expect((object["subfields"] as? Int ?? 0) > 0)
        let human = try Self.calisd("marc", "stats", Self.fixture("loc-cjk-20.mrc"))
        #expect(human.stdout.contains("records:        20\n"))
        #expect(human.stdout.contains("  utf-8: 20"))
    }

    @Test("convert writes the file whole, and reads back to the same bytes")
    func convert() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = directory.appendingPathComponent("out.ndjson").path
        let iso = directory.appendingPathComponent("back.mrc").path
        #expect(try Self.calisd("marc", "convert", "--to", "json", "-o", json, Self.fixture("loc-cjk-20.mrc")).status == 0)
        #expect(try Self.calisd("marc", "convert", "--to", "iso2709", "-o", iso, json).status == 0)
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("loc-cjk-20.mrc")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: iso)) == original)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty)
    }

    @Test("convert --crosswalk cnmarc turns MARC21 into CNMARC that yaz reads; CNMARC input passes unchanged")
    func crosswalk() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("cnmarc.iso").path
        let result = try Self.calisd(
            "marc", "convert", "--crosswalk", "cnmarc", "--agency", "CALIS", "--to", "iso2709", "-o", output,
            Self.fixture("loc-cjk-20.mrc"), Self.fixture("dp2-bnu-cnmarc-10.utf8.iso"))
        #expect(result.status == 0, "\(result.stderr)")
        let stats = try Self.calisd("marc", "stats", output)
        #expect(stats.stdout.contains("  cnmarc: 30"), "\(stats.stdout)")
        let dump = try Self.calisd("marc", "dump", output)
        #expect(dump.stdout.contains("=200  1\\$a頭戴之硬盔$ATou dai zhi ying kui$f[撰文・編輯吳正德]"), "\(dump.stdout.prefix(2000))")
        #expect(dump.stdout.contains("=801  \\2$aCN$bCALIS"))
        // The BNU records were CNMARC already: written as they came.
        let bnu = try Self.calisd("marc", "dump", Self.fixture("dp2-bnu-cnmarc-10.utf8.iso"))
        #expect(dump.stdout.hasSuffix(bnu.stdout))
        if let yaz = ProcessRunner.find("yaz-marcdump") {
            let independent = try ProcessRunner.run(yaz, ["-i", "marc", "-o", "line", output])
            #expect(independent.status == 0 && independent.stdoutText.components(separatedBy: "\n200 1  ").count == 31)
        }
    }

    @Test("convert --crosswalk refuses an unknown target, and --agency without --crosswalk", arguments: [
        (["marc", "convert", "--crosswalk", "unimarc", "--to", "xml", "-o", "-", "x.mrc"], "The value 'unimarc' is invalid for '--crosswalk"),
        (["marc", "convert", "--agency", "CALIS", "--to", "xml", "-o", "-", "x.mrc"], "--agency only applies with --crosswalk"),
    ])
    func crosswalkArguments(arguments: [String], message: String) throws {
        let result = try ProcessRunner.run(Self.binary, arguments)
        #expect(result.status == 64)
        #expect(result.stderrText.contains(message), "\(result.stderrText)")
    }

    @Test("convert into a folder that does not exist fails and leaves nothing behind")
    func convertUnwritable() throws {
        let result = try Self.calisd("marc", "convert", "--to", "json", "-o", "/nonexistent-calisd/out.json", Self.fixture("loc-books-50.mrc"))
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot create /nonexistent-calisd/out.json.calisd-partial"))
    }

    @Test("a missing file, a folder and an unknown format are clear errors", arguments: [
        (["marc", "dump", "/nonexistent/file.mrc"], "cannot open /nonexistent/file.mrc"),
        (["marc", "stats", "/tmp"], "cannot read /tmp"),
        (["marc", "dump", "--to", "pdf", "x.mrc"], "The value 'pdf' is invalid for '--to <to>'"),
        (["marc", "validate"], "Missing expected argument"),
        (["marc", "frobnicate"], "Unexpected argument 'frobnicate'"),
    ])
    func badArguments(arguments: [String], message: String) throws {
        let result = try ProcessRunner.run(Self.binary, arguments)
        #expect(result.status != 0)
        #expect(result.stderrText.contains(message), "\(result.stderrText)")
    }

    @Test("stats reports the encoding records arrived in; dump writes them as UTF-8 with leader/09 'a'")
    func legacyEncodings() throws {
        let stats = try Self.calisd(
            "marc", "stats", "--json", Self.fixture("marc-charset-cjk1.marc"), Self.fixture("dp2-bnu-cnmarc-10.gb18030.iso"),
            Self.fixture("afronkin-rusmarc_2-0189.iso"), Self.fixture("loc-books-50.mrc"))
        #expect(stats.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        let encodings = try #require(object["encodings"] as? [String: Int])
        #expect(encodings["marc-8"] == 1)
        #expect(encodings["gb18030"] == 10)
        #expect(encodings["windows-1251"] == 1)
        #expect((encodings["ascii"] ?? 0) + (encodings["utf-8"] ?? 0) == 50)

        let dump = try Self.calisd("marc", "dump", "--to", "json", Self.fixture("marc-charset-cjk1.marc"))
        #expect(dump.status == 0)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let leader = try #require(record["leader"] as? String)
        #expect(Array(leader)[9] == "a")
        #expect(dump.stdout.unicodeScalars.contains { $0.properties.isIdeographic })
    }

    @Test("validate names the disagreement between a declaration and the bytes, as a warning")
    func encodingWarnings() throws {
        let result = try Self.calisd("marc", "validate", Self.fixture("pymarc-1251.dat"))
        #expect(result.status == 0)
        #expect(result.stdout.contains("warning: encoding: leader/09 declares MARC-8, but the bytes are windows-1251; read as windows-1251"))
        #expect(result.stdout.contains("(001 ru03-000001RKP)"))
    }
}
