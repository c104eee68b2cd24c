import ArgumentParser
import MARC

/// `calisd marc …`: offline tools a member can run on a file before submitting it.
struct MarcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marc",
        abstract: "Read, convert, check and count MARC files offline.",
        discussion: """
            Every command reads ISO 2709, MARCXML and MARC-in-JSON, plain or gzip-compressed; the format is \
            decided by content, not by the file name.
            """,
        subcommands: [MarcDump.self, MarcConvert.self, MarcValidate.self, MarcStats.self]
    )
}

extension MARCFormat: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "json", "marc-in-json", "mij": self = .json
        case "xml", "marcxml": self = .marcxml
        case "iso2709", "marc", "mrc", "iso": self = .iso2709
        case "text", "mrk", "line": self = .text
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["json", "xml", "iso2709", "text"] }
}

/// Options every `calisd marc` command shares.
struct MarcInputOptions: ParsableArguments {
    @Argument(help: "MARC files: ISO 2709, MARCXML or MARC-in-JSON, optionally gzip-compressed.")
    var files: [String]

    @Flag(name: .shortAndLong, help: "Print only error diagnostics, not warnings.")
    var quiet = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("Name at least one MARC file.") }
    }
}
