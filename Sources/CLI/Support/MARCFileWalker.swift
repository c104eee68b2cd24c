import MARC

/// Reads each named file in turn and hands every item to a body, printing diagnostics to standard error as
/// `FILE: record N (001 X) at byte B: severity: code: message`.
struct MARCFileWalker {
    var quiet = false
    /// `validate` prints its diagnostics as its output; the other commands keep them on standard error.
    var diagnosticsToStandardOutput = false
    private(set) var errorCount = 0
    private(set) var warningCount = 0
    /// Files that could not be read at all.
    private(set) var failedFiles = 0

    init(quiet: Bool) { self.quiet = quiet }

    mutating func walk(
        _ files: [String], body: (_ file: String, _ opened: MARCReaders.Opened, _ item: MARCReadItem) throws -> Void
    ) throws {
        for file in files {
            do {
                let opened = try MARCReaders.open(path: file)
                try opened.reader.forEach { item in
                    report(item.diagnostics, file: file)
                    try body(file, opened, item)
                }
            } catch let error as MARCError where error.code == .io {
                failedFiles += 1
                StandardError.write("\(file): error: \(error)")
            }
        }
    }

    mutating func report(_ diagnostics: [MARCDiagnostic], file: String) {
        for diagnostic in diagnostics {
            if diagnostic.severity == .error {
                errorCount += 1
            } else {
                warningCount += 1
                if quiet { continue }
            }
            if diagnosticsToStandardOutput {
                print("\(file): \(diagnostic)")
            } else {
                StandardError.write("\(file): \(diagnostic)")
            }
        }
    }
}
