import ArgumentParser
import Foundation
import MARC

/// `calisd marc stats`: parses every field and subfield and counts what it saw.
struct MarcStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Count records, fields, subfields, flavours, encodings and diagnostics.",
        discussion: "Every field and subfield is parsed. Diagnostics are counted, not printed, unless --verbose."
    )

    @OptionGroup var input: MarcInputOptions

    @Flag(name: .long, help: "Print the figures as JSON.")
    var json = false

    @Flag(name: .long, help: "Also print each diagnostic to standard error.")
    var verbose = false

    func run() throws {
        var totals = MARCStatistics()
        var failedFiles = 0
        let started = ContinuousClock.now
        for file in input.files {
            do {
                let opened = try MARCReaders.open(path: file)
                totals.formats[opened.format.rawValue + (opened.compressed ? "+gzip" : ""), default: 0] += 1
                try opened.reader.forEach { item in
                    totals.add(item)
                    if verbose {
                        for diagnostic in item.diagnostics where !(input.quiet && diagnostic.severity == .warning) {
                            StandardError.write("\(file): \(diagnostic)")
                        }
                    }
                }
            } catch let error as MARCError {
                failedFiles += 1
                StandardError.write("\(file): error: \(error)")
            }
        }
        let elapsed = ContinuousClock.now - started
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(totals), as: UTF8.self))
        } else {
            print(totals.report(elapsed: elapsed))
        }
        if failedFiles > 0 { throw ExitCode(1) }
    }
}

/// What `stats` counts.
struct MARCStatistics: Encodable {
    var records = 0
    var unreadable = 0
    var fields = 0
    var controlFields = 0
    var dataFields = 0
    var subfields = 0
    var flavours: [MARCFlavour: Int] = [:]
    /// The encodings records arrived in (they are all UTF-8 once read).
    var encodings: [MARCEncoding: Int] = [:]
    var formats: [String: Int] = [:]
    var warnings = 0
    var errors = 0
    var diagnosticCodes: [String: Int] = [:]

    mutating func add(_ item: MARCReadItem) {
        for diagnostic in item.diagnostics {
            if diagnostic.severity == .error { errors += 1 } else { warnings += 1 }
            diagnosticCodes["\(diagnostic.severity.rawValue) \(diagnostic.code)", default: 0] += 1
        }
        guard let record = item.record else {
            if item.hasErrors { unreadable += 1 }
            return
        }
        records += 1
        let count = record.fieldCount
        fields += count
        let control = record.controlFieldCount
        controlFields += control
        dataFields += count - control
        subfields += record.subfieldCount
        flavours[record.flavour, default: 0] += 1
        encodings[record.encoding, default: 0] += 1
    }

    func report(elapsed: Duration) -> String {
        func table(_ counts: [String: Int]) -> String {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "  \($0.key): \($0.value)" }.joined(separator: "\n")
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var lines = [
            "records:        \(records)",
            "unreadable:     \(unreadable)",
            "fields:         \(fields) (\(controlFields) control, \(dataFields) data)",
            "subfields:      \(subfields)",
            "warnings:       \(warnings)",
            "errors:         \(errors)",
            "formats:\n\(table(formats))",
            "flavours:\n\(table(flavours.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value }))",
            "encodings:\n\(table(encodings.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value }))",
        ]
        if !diagnosticCodes.isEmpty { lines.append("diagnostics:\n\(table(diagnosticCodes))") }
        lines.append(String(format: "time:           %.3f s", seconds))
        return lines.joined(separator: "\n")
    }
}
