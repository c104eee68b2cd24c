/// How harvests run (`[refresh]` in calisd.toml).
public struct HarvestSettings: Sendable {
    public var stateDirectory: String
    /// Harvests running at once, whatever the number of members due.
    public var maximumConcurrent: Int
    /// The first wait after a failure; doubled after each further one (a request within a harvest, and a failed
    /// harvest's next try, which never waits longer than the member's interval).
    public var retryAfterSeconds: Int
    public var requestTimeoutSeconds: Int
    /// A harvest's next due time is pushed back by a random share of its interval up to this, so members set up
    /// together drift apart.
    public var jitterPercent: Int
    public var attemptsPerRequest = 3
    public var recordsPerFile = 10_000
    public var maximumResponseBytes = 256 << 20
    public var userAgent = "calisd (OAI-PMH harvester)"

    public init(stateDirectory: String, maximumConcurrent: Int = 4, retryAfterSeconds: Int = 60, requestTimeoutSeconds: Int = 120, jitterPercent: Int = 10) {
        self.stateDirectory = stateDirectory
        self.maximumConcurrent = maximumConcurrent
        self.retryAfterSeconds = retryAfterSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.jitterPercent = jitterPercent
    }

    /// Random extra delay for a member's next harvest.
    public func jitter(intervalSeconds: Int64) -> Int64 {
        let most = intervalSeconds * Int64(jitterPercent) / 100
        return most > 0 ? Int64.random(in: 0...most) : 0
    }

    /// When a harvest that failed `failures` times in a row (this one included) is tried again.
    public func backoff(failures: Int, intervalSeconds: Int64) -> Int64 {
        let doubled = Int64(retryAfterSeconds) << Int64(min(max(failures - 1, 0), 30))
        return min(doubled, intervalSeconds)
    }
}
