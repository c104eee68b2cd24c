import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// What the daemon tests share: the binary, real records from the fixtures, and a started daemon.
enum DaemonSupport {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MARCTests/Fixtures")

    /// The `calisd` built beside this test binary.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("calisd").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("calisd").path
    }()

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    /// The 50 LoC records of `loc-books-50.mrc`: real books with ISBNs, LCCNs and titles.
    static func locBooks() throws -> [MARCRecord] {
        let reader = try MARCReaders.open(bytes: try fixture("loc-books-50.mrc")).reader
        var records: [MARCRecord] = []
        while let item = try reader.next() { if let record = item.record { records.append(record) } }
        return records
    }

    /// `record` with its 001 replaced (and, if given, its leader/05 status).
    static func rewrite(_ record: MARCRecord, controlNumber: String, status: UInt8? = nil) -> MARCRecord {
        var leader = record.leader
        if let status { leader[5] = status }
        var copy = MARCRecord(leader: leader)
        copy.appendControlField("001", value: controlNumber)
        for field in record.fields where field.tag != "001" { copy.append(field) }
        return copy
    }

    /// `record` with its 245 replaced by one holding only `$a title`.
    static func rewriteTitle(_ record: MARCRecord, _ title: String) -> MARCRecord {
        var copy = MARCRecord(leader: record.leader)
        for field in record.fields {
            if field.tag == "245" {
                copy.appendDataField("245", indicators: (0x31, 0x30), subfields: [(UInt8(ascii: "a"), title)])
            } else {
                copy.append(field)
            }
        }
        return copy
    }

    /// `record` as ISO 2709 with its fifth field made unfindable — that directory entry's start turned to
    /// letters and the field's terminator removed — so reading it is an error, not a recovered warning.
    static func unreadable(_ record: MARCRecord) throws -> [UInt8] {
        var bytes = try ISO2709Writer.data(record)
        let base = Int(String(decoding: bytes[12..<17], as: UTF8.self))!
        let entry = 24 + 12 * 4
        let length = Int(String(decoding: bytes[(entry + 3)..<(entry + 7)], as: UTF8.self))!
        let start = Int(String(decoding: bytes[(entry + 7)..<(entry + 12)], as: UTF8.self))!
        bytes[base + start + length - 1] = UInt8(ascii: "|")
        bytes[entry + 7] = UInt8(ascii: "X")
        bytes[entry + 8] = UInt8(ascii: "Y")
        return bytes
    }

    /// `count` distinct records (distinct 001s, so nothing is skipped as unchanged), cycling through the LoC books.
    static func distinctBooks(_ count: Int, prefix: String = "T") throws -> [UInt8] {
        let books = try locBooks()
        var bytes: [UInt8] = []
        for index in 0..<count {
            try ISO2709Writer.write(rewrite(books[index % books.count], controlNumber: "\(prefix)\(index)"), into: &bytes)
        }
        return bytes
    }

    static func iso(_ records: [MARCRecord]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for record in records { try ISO2709Writer.write(record, into: &bytes) }
        return bytes
    }

    /// A daemon on a scratch folder, started, with members added through `calisd ctl`.
    static func started(members: [String] = ["M001", "M002"], config: String = "[ingest]\nsettle_seconds = 1\n") async throws
        -> DaemonProcess
    {
        let daemon = try DaemonProcess(binary: binary, config: config)
        try await daemon.start()
        for member in members {
            let result = try daemon.ctl("members", "add", member, "--name", "Library \(member)")
            #expect(result.status == 0, "\(result.stderrText)")
        }
        return daemon
    }

    static func status(_ daemon: DaemonProcess) async throws -> StatusBody {
        try await daemon.json(StatusBody.self, "/v1/status")
    }

    static func files(_ daemon: DaemonProcess, member: String? = nil) async throws -> [FileBody] {
        try await daemon.json([FileBody].self, "/v1/files?limit=10000" + (member.map { "&member=\($0)" } ?? ""))
    }

    /// Waits until `count` files of the member have finished (done, held, rejected or failed).
    @discardableResult
    static func waitForFinished(_ daemon: DaemonProcess, member: String, count: Int, timeout: Duration = .seconds(120)) async throws
        -> [FileBody]
    {
        var last: [FileBody] = []
        try await waitUntil("\(count) file(s) of \(member) finish", timeout: timeout) {
            last = try await files(daemon, member: member)
            return last.filter { ["done", "held", "rejected", "failed"].contains($0.state) }.count >= count
        }
        return last
    }
}
