import ArgumentParser

/// The one `calisd` binary: the daemon, its admin client and the offline MARC tools.
public struct CalisdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "calisd",
        abstract: "The union-catalogue daemon of a library consortium, and its tools.",
        subcommands: [Serve.self, Ctl.self, MarcCommand.self, DedupCommand.self, Migrate.self, CheckConfig.self]
    )

    public init() {}
}

/// The executable's whole body, so `main.swift` needs nothing but this module.
public enum CalisdMain {
    public static func run() async {
        await CalisdCommand.main()
    }
}
