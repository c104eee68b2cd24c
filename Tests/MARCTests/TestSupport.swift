import Foundation
import CalisdTesting
import MARC
import Testing

/// Fixtures shipped with the tests.
enum Fixture {
    static func path(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("missing fixture \(name)")
        }
        return url.path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// The big shared corpora in `../shared/data`, present beside the checkout in development and CI.
enum SharedData {
    static let root: String? = {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidate = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data").path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }()

    static var isAvailable: Bool { root != nil }

    static func path(_ relative: String) -> String? {
        root.map { "\($0)/\(relative)" }
    }
}

/// Reads every item from a file or from bytes.
func readItems(path: String) throws -> [MARCReadItem] {
    try readBothWays { try MARCReaders.open(path: path).reader }
}

func readItems(bytes: [UInt8], transcode: Bool = true) throws -> [MARCReadItem] {
    try readBothWays {
        transcode ? try MARCReaders.open(bytes: bytes).reader : ISO2709Reader(source: MemoryByteSource(bytes), transcode: false)
    }
}

/// Reads with `next()`, and again with `forEach` (the MARCXML reader then parses the document whole): every test
/// that reads through here also checks the two give the same items.
private func readBothWays(_ open: () throws -> any MARCRecordReader) throws -> [MARCReadItem] {
    var items: [MARCReadItem] = []
    let reader = try open()
    while let item = try reader.next() { items.append(item) }
    var delivered: [MARCReadItem] = []
    try open().forEach { delivered.append($0) }
    #expect(delivered.map(ItemSummary.init) == items.map(ItemSummary.init), "forEach gives other items than next()")
    return items
}

/// What a reader gives for an item, comparable.
struct ItemSummary: Equatable {
    let record: MARCRecord?
    let diagnostics: [String]
    let recordNumber: Int
    let byteOffset: Int64

    init(_ item: MARCReadItem) {
        record = item.record
        diagnostics = item.diagnostics.map { "\($0)" }
        recordNumber = item.recordNumber
        byteOffset = item.byteOffset
    }
}

/// External programs used as oracles: yaz-marcdump, python3 with pymarc.
enum ExternalTool {
    /// In CI every oracle must be installed; on a developer's machine a missing one skips its test.
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    static func find(_ name: String) -> String? { ProcessRunner.find(name) }

    static var hasPymarc: Bool {
        guard find("python3") != nil else { return false }
        return (try? run("python3", ["-c", "import pymarc"]))?.status == 0
    }

    static func run(_ name: String, _ arguments: [String], input: Data? = nil) throws -> ProcessRunner.Output {
        try ProcessRunner.run(name, arguments, input: input)
    }
}

/// A record as plain values, for comparing calisd with other readers through MARC-in-JSON.
struct PlainRecord: Equatable, CustomStringConvertible {
    var leader: String
    var fields: [PlainField]

    struct PlainField: Equatable {
        var tag: String
        var value: String?
        var indicators: String?
        var subfields: [[String]]
    }

    init(_ record: MARCRecord) {
        leader = String(decoding: record.leader.bytes, as: UTF8.self)
        fields = record.fields.map { field in
            if field.isControlField {
                return PlainField(tag: field.tag.string, value: field.value, indicators: nil, subfields: [])
            }
            let indicators = String(decoding: [field.indicator1, field.indicator2], as: UTF8.self)
            return PlainField(
                tag: field.tag.string, value: nil, indicators: indicators,
                subfields: field.subfields.map { [$0.codeString, $0.value] })
        }
    }

    /// Reads the code4lib MARC-in-JSON object that yaz and pymarc write.
    init?(json object: Any) {
        guard let object = object as? [String: Any], let leader = object["leader"] as? String,
            let fields = object["fields"] as? [[String: Any]]
        else { return nil }
        self.leader = leader
        self.fields = fields.compactMap { field in
            guard let (tag, body) = field.first else { return nil }
            if let value = body as? String { return PlainField(tag: tag, value: value, indicators: nil, subfields: []) }
            guard let body = body as? [String: Any] else { return nil }
            let indicators = ((body["ind1"] as? String) ?? " ") + ((body["ind2"] as? String) ?? " ")
            let subfields = (body["subfields"] as? [[String: String]] ?? []).flatMap { $0.map { [$0.key, $0.value] } }
            return PlainField(tag: tag, value: nil, indicators: indicators, subfields: subfields)
        }
    }

    var description: String {
        ([leader] + fields.map { "\($0.tag) \($0.indicators ?? "") \($0.value ?? "") \($0.subfields)" })
            .joined(separator: "\n")
    }
}
