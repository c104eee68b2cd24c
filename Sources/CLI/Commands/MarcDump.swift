#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Crosswalk
import MARC

/// `calisd marc dump`: every record to standard output.
struct MarcDump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Write every record to standard output.",
        discussion: """
            `--to json` writes MARC-in-JSON in the code4lib form, one record per line; for UTF-8 input the \
            leader is written exactly as read. Diagnostics go to standard error; records that were recovered \
            are written as recovered. Exits 1 when any record had an error.
            """
    )

    @Option(name: .long, help: "Output format: json, xml, iso2709 or text.")
    var to: MARCFormat = .text

    @OptionGroup var input: MarcInputOptions

    func run() throws {
        let sink = OutputSink.standardOutput()
        let failed = try MarcConversion(format: to, quiet: input.quiet).run(files: input.files, to: sink)
        if failed { throw ExitCode(1) }
    }
}

/// `calisd marc convert`: every record to one output file.
struct MarcConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert MARC files to one output file.",
        discussion: "The output is written beside its final name and renamed into place only when complete."
    )

    @Option(name: .long, help: "Output format: json, xml, iso2709 or text.")
    var to: MARCFormat

    @Option(name: .shortAndLong, help: "The output file ('-' for standard output).")
    var output: String

    @Option(
        name: .long,
        help: "Convert MARC21 records to another MARC family first: cnmarc. Records already in it pass unchanged.")
    var crosswalk: CrosswalkTarget?

    @Option(name: .long, help: "With --crosswalk: the agency recorded as transcribing the records (801 $b).")
    var agency: String?

    @OptionGroup var input: MarcInputOptions

    func validate() throws {
        if agency != nil && crosswalk == nil { throw ValidationError("--agency only applies with --crosswalk.") }
    }

    private var conversion: MarcConversion {
        MarcConversion(
            format: to, quiet: input.quiet,
            transform: crosswalk.map { _ in
                let crosswalk = MARC21ToCNMARC(transcribingAgency: agency)
                return { record in record.flavour.isUNIMARCFamily ? record : crosswalk.convert(record) }
            })
    }

    func run() throws {
        if output == "-" {
            let failed = try conversion.run(files: input.files, to: OutputSink.standardOutput())
            if failed { throw ExitCode(1) }
            return
        }
        let temporary = output + ".calisd-partial"
        let sink = try OutputSink.file(temporary)
        let failed: Bool
        do {
            failed = try conversion.run(files: input.files, to: sink)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, output) == 0 else {
            unlink(temporary)
            throw MARCError(.output, "cannot rename \(temporary) to \(output): \(String(cString: strerror(errno)))")
        }
        if failed { throw ExitCode(1) }
    }
}

/// The shared body of `dump` and `convert`.
struct MarcConversion {
    let format: MARCFormat
    let quiet: Bool
    var transform: (@Sendable (MARCRecord) -> MARCRecord)? = nil

    /// Returns true when any record had an error or could not be written.
    func run(files: [String], to sink: OutputSink) throws -> Bool {
        let writer = MARCStreamWriter(format: format)
        var walker = MARCFileWalker(quiet: quiet)
        var unwritable = 0
        writer.writeHeader(into: &sink.buffer)
        try walker.walk(files) { file, _, item in
            guard var record = item.record else { return }
            if let transform { record = transform(record) }
            do {
                try writer.write(record, into: &sink.buffer)
            } catch {
                unwritable += 1
                StandardError.write("\(file): record \(item.recordNumber): error: not written: \(error)")
            }
            try sink.flushIfFull()
        }
        writer.writeFooter(into: &sink.buffer)
        try sink.close()
        return walker.errorCount > 0 || walker.failedFiles > 0 || unwritable > 0
    }
}

/// The MARC families `calisd marc convert --crosswalk` converts MARC21 records to.
enum CrosswalkTarget: String, ExpressibleByArgument, CaseIterable {
    case cnmarc
}
