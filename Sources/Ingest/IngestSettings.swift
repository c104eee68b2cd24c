/// What the ingest pipeline needs to know from the configuration.
public struct IngestSettings: Sendable, Equatable {
    public var stateDirectory: String
    public var dropDirectory: String
    /// SPEC §4: a file closed after writing, or found by a scan, is taken once unchanged this long.
    public var settleSeconds: Int
    /// Records per transaction: the unit of progress a restart resumes from.
    public var batchSize: Int

    public init(
        stateDirectory: String, dropDirectory: String, settleSeconds: Int = 2,
        batchSize: Int = 10_000
    ) {
        self.stateDirectory = stateDirectory
        self.dropDirectory = dropDirectory
        self.settleSeconds = settleSeconds
        self.batchSize = batchSize
    }
}
