import CalisdTesting
import Foundation
import Testing

@testable import MARC

@Suite("Format, compression and flavour detection")
struct DetectionTests {
    @Test("the format is decided by content, whatever the file is called")
    func formatByContent() throws {
        let iso = try Fixture.bytes("loc-books-50.mrc")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-detect-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let misnamed = directory.appendingPathComponent("records.xml")
        try Data(iso).write(to: misnamed)
        let opened = try MARCReaders.open(path: misnamed.path)
        #expect(opened.format == .iso2709)
        #expect(MARCFormat.detect(Array("  \n<?xml version='1.0'?>".utf8)) == .marcxml)
        #expect(MARCFormat.detect([0xEF, 0xBB, 0xBF] + Array("[{".utf8)) == .json)
        #expect(MARCFormat.detect(Array("{\"leader\"".utf8)) == .json)
        #expect(MARCFormat.detect(Array("00720cam".utf8)) == .iso2709)
    }

    @Test("gzip is found by its magic bytes and read through")
    func gzip() throws {
        let opened = try MARCReaders.open(path: Fixture.path("file-marc-compressed.mrc.gz"))
        #expect(opened.compressed)
        #expect(opened.format == .iso2709)
        var records = 0
        while let item = try opened.reader.next() { if item.record != nil { records += 1 } }
        #expect(records == 3)
    }

    @Test("a damaged gzip stream gives the records before the damage, then an error")
    func damagedGzip() throws {
        let records = try Fixture.bytes("loc-books-50.mrc")
        let compressed = try SystemGzip.compress(records)
        let cut = Array(compressed.prefix(compressed.count / 2))
        let items = try readItems(bytes: cut)
        let good = items.filter { $0.record != nil && !$0.hasErrors }
        #expect(good.count > 5)
        #expect(good.count < 50)
        #expect(items.last?.hasErrors == true)
    }

    @Test("MARC21, UNIMARC and CNMARC are told apart by content")
    func flavours() throws {
        #expect(try readItems(path: Fixture.path("loc-books-50.mrc")).allSatisfy { $0.record?.flavour == .marc21 })
        #expect(try readItems(path: Fixture.path("dp2-bnu-cnmarc-10.utf8.iso")).allSatisfy { $0.record?.flavour == .cnmarc })
        let unimarc = try readItems(path: Fixture.path("pymarc-testunimarc.dat")).compactMap(\.record)
        #expect(!unimarc.isEmpty && unimarc.allSatisfy { $0.flavour == .unimarc })
    }

    @Test("encodings: ASCII, UTF-8, and a UTF-8 leader over bytes that are not UTF-8 is a warning")
    func encodings() throws {
        let loc = try readItems(path: Fixture.path("loc-books-50.mrc")).compactMap(\.record)
        #expect(Set(loc.map(\.encoding)).isSubset(of: [.ascii, .utf8]))
        // Leader/09 says UTF-8, the bytes are Latin-1: a warning, and the bytes decide.
        var declared = try #require(try readItems(path: Fixture.path("loc-books-50.mrc")).first?.record)
        declared.appendControlField("009", bytes: [0x63, 0x61, 0x66, 0xE9])
        let latin1 = try readItems(bytes: try ISO2709Writer.data(declared))
        #expect(latin1[0].diagnostics.map(\.code) == [.encoding])
        #expect(latin1[0].diagnostics[0].severity == .warning)
        #expect(latin1[0].record?.first("009")?.value == "café")
        #expect(latin1[0].record?.encoding == .windows1252)
        // What the bytes are decides, not leader/09: a blank leader/09 over valid UTF-8 is UTF-8.
        var blank = try #require(try readItems(path: Fixture.path("loc-books-50.mrc")).first?.record)
        blank.leader.characterCoding = 0x20
        blank.appendControlField("009", value: "café")
        #expect(try readItems(bytes: try ISO2709Writer.data(blank)).first?.record?.encoding == .utf8)
        // A blank leader/09 over 8-bit bytes that are not UTF-8 is taken as MARC-8.
        var legacy = try #require(try readItems(path: Fixture.path("loc-books-50.mrc")).first?.record)
        legacy.leader.characterCoding = 0x20
        legacy.appendControlField("009", bytes: [0x63, 0x61, 0x66, 0xE2, 0x65])
        #expect(try readItems(bytes: try ISO2709Writer.data(legacy)).first?.record?.encoding == .marc8)
        #expect(UTF8Validation.classify(Array("plain".utf8)) == .ascii)
        #expect(UTF8Validation.classify(Array("中文".utf8)) == .utf8)
        #expect(UTF8Validation.classify([0x41, 0xE9, 0x42]) == .unknown8bit)
        #expect(UTF8Validation.classify([0xED, 0xA0, 0x80]) == .unknown8bit)  // a surrogate
        #expect(UTF8Validation.classify([0xC0, 0x80]) == .unknown8bit)  // overlong
    }
}

/// Compresses with the system gzip, which every Debian machine has.
enum SystemGzip {
    static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-gz-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("x")
        try Data(bytes).write(to: file)
        let result = try ExternalTool.run("gzip", ["-c", file.path])
        return Array(result.stdout)
    }
}
