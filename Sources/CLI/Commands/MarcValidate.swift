import ArgumentParser
import MARC

/// `calisd marc validate`: one line per problem, and an exit status a script can test.
struct MarcValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check MARC files and print one diagnostic per problem.",
        discussion: """
            Each line gives the file, the record number, its 001, the byte offset, the severity and the \
            problem. Exits 1 when any diagnostic is an error (data may be lost or wrong), 0 otherwise.
            """
    )

    @OptionGroup var input: MarcInputOptions

    func run() throws {
        var walker = MARCFileWalker(quiet: input.quiet)
        walker.diagnosticsToStandardOutput = true
        var records = 0
        try walker.walk(input.files) { _, _, item in
            if item.record != nil { records += 1 }
        }
        let summary = "\(records) record(s), \(walker.errorCount) error(s), \(walker.warningCount) warning(s)"
        print(summary)
        if walker.errorCount > 0 || walker.failedFiles > 0 { throw ExitCode(1) }
    }
}
