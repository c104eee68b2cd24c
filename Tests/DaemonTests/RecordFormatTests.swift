import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// Records downloaded for copy cataloguing: the union record as one MARC record, in MARCXML or ISO 2709, read
/// back by yaz and pymarc; a member's record as it stored it.
@Suite("record downloads")
struct RecordFormatTests {
    static func curl(_ daemon: DaemonProcess, _ target: String, accept: String? = nil) throws -> ProcessRunner.Output {
        var arguments = ["-s", "-w", "\n%{http_code}", "--unix-socket", daemon.socketPath]
        if let accept { arguments += ["-H", "Accept: \(accept)"] }
        return try ProcessRunner.run("curl", arguments + ["http://calisd" + target])
    }

    @Test("a union record as MARCXML and ISO 2709: the union id in 001, the master's id in 035, every member's ISBNs; yaz and pymarc read it")
    func unionRecordDownloads() async throws {
        let daemon = try await DaemonSupport.started()
        defer { daemon.remove() }
        let book = try #require(try DaemonSupport.locBooks().first { $0.first("020") != nil })
        let id = book.controlNumber!.trimmingCharacters(in: .whitespaces)
        try daemon.drop(try DaemonSupport.iso([book]), member: "M001", name: "a.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        // M002's copy also carries the paperback's ISBN.
        var copy = DaemonSupport.rewrite(book, controlNumber: "m2-\(id)")
        copy.appendDataField("020", subfields: [(UInt8(ascii: "a"), "9780306406157 (pbk.)")])
        try daemon.drop(try DaemonSupport.iso([copy]), member: "M002", name: "b.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        let union = try #require(try await daemon.json(SourceRecordBody.self, "/v1/members/M001/records/\(id)").unionID)
        #expect(try await daemon.json(SourceRecordBody.self, "/v1/members/M002/records/m2-\(id)").unionID == union)

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let xml = try await daemon.get("/v1/records/\(union)?format=marcxml")
        #expect(xml.status == 200)
        let xmlPath = scratch.appendingPathComponent("u.xml").path
        try Data(xml.body).write(to: URL(fileURLWithPath: xmlPath))
        let yaz = try ProcessRunner.run("yaz-marcdump", ["-i", "marcxml", "-o", "line", xmlPath])
        #expect(yaz.status == 0, "\(yaz.stderrText)")
        #expect(yaz.stdoutText.contains("001 \(union)"), "\(yaz.stdoutText)")
        #expect(yaz.stdoutText.contains("9780306406157"), "the other member's ISBN is added")
        // M002's copy is the more complete, so it is the master; its own id is kept under its member code.
        #expect(yaz.stdoutText.contains("035    $a (M002)m2-\(id)"), "\(yaz.stdoutText)")
        #expect(!yaz.stdoutText.contains("\n003 "))

        let iso = try Self.curl(daemon, "/v1/records/\(union)", accept: "application/marc")
        let isoBody = Array(iso.stdout.dropLast(4))
        #expect(iso.stdoutText.hasSuffix("\n200"))
        let isoPath = scratch.appendingPathComponent("u.mrc").path
        try Data(isoBody).write(to: URL(fileURLWithPath: isoPath))
        if let python = ProcessRunner.find("python3") {
            let pymarc = try ProcessRunner.run(python, [
                "-c", "import pymarc,sys; r=next(iter(pymarc.MARCReader(open(sys.argv[1],'rb'), to_unicode=True, force_utf8=True))); print(r['001'].data, len(r.get_fields('020')))", isoPath,
            ])
            #expect(pymarc.status == 0 && pymarc.stdoutText.hasPrefix("\(union) "), "\(pymarc.stderrText)")
            #expect(Int(pymarc.stdoutText.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 >= 2)
        }

        // A member's record as it stored it.
        let own = try await daemon.get("/v1/members/M001/records/\(id)?format=iso2709")
        #expect(own.status == 200 && String(decoding: own.body, as: UTF8.self).contains(id))

        // calisd ctl records show: the union record for people, then the record as MARC text.
        let shown = try daemon.ctl("records", "show", union)
        #expect(shown.status == 0, "\(shown.stderrText)")
        #expect(shown.stdoutText.contains("held by M001, M002") && shown.stdoutText.contains("isbn: "), "\(shown.stdoutText)")
        #expect(shown.stdoutText.contains("=001  \(union)") && shown.stdoutText.contains("9780306406157"))
        let member = try daemon.ctl("records", "show", "M001:\(id)")
        #expect(member.stdoutText.contains("M001:\(id) (active) in \(union)") && member.stdoutText.contains("=245"), "\(member.stdoutText)")
        #expect(try daemon.ctl("records", "show", "--json", union).stdoutText.hasPrefix("{"))
        #expect(try daemon.ctl("records", "show", "nonsense").status == 64)
        #expect(try daemon.ctl("records", "show", "CAL999999999").status == 1)

        // What cannot be answered says so.
        #expect(try Self.curl(daemon, "/v1/records/\(union)", accept: "text/html").stdoutText.hasSuffix("\n406"))
        #expect(try await daemon.get("/v1/records/\(union)?format=pdf").status == 400)
        #expect(try Self.curl(daemon, "/v1/records/\(union)", accept: "application/json").stdoutText.contains("\"sources\""))
    }
}
