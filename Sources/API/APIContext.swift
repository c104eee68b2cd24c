import Foundation
import Ingest
import Store

/// What the routes work with: the catalogue (read), the ingest service (uploads, decisions), and the settings
/// that shape answers.
public struct APIContext: Sendable {
    public var store: CatalogStore
    public var ingest: IngestService
    public var dropDirectory: String
    public var uploadsDirectory: String
    public var databasePath: String
    /// admin_group and max_upload_mb, as SIGHUP last set them.
    public var live: LiveSettings
    public var version: String
    public var startedAt: Date
    /// The harvest scheduler, as far as the routes need it.
    public var refresh: RefreshControl
    public var metrics: APIMetrics
    /// What `POST /v1/prune` removes.
    public var retention: Retention
    /// How the catalogue names itself to harvesters and SRU clients.
    public var publication: Publication
    /// Backups and exports under way.
    public var operations = RunningOperations()
    /// Record answers kept while the catalogue is unchanged (`[api] answer_cache_mb`).
    let answers: AnswerCache

    public init(
        store: CatalogStore, ingest: IngestService, dropDirectory: String, uploadsDirectory: String, databasePath: String,
        live: LiveSettings, version: String, startedAt: Date = Date(), refresh: RefreshControl = RefreshControl(),
        metrics: APIMetrics = APIMetrics(), retention: Retention = Retention(), publication: Publication = Publication(),
        answerCacheBytes: Int = 64 << 20
    ) {
        self.answers = AnswerCache(budgetBytes: answerCacheBytes)
        self.publication = publication
        self.retention = retention
        self.refresh = refresh
        self.metrics = metrics
        self.store = store
        self.ingest = ingest
        self.dropDirectory = dropDirectory
        self.uploadsDirectory = uploadsDirectory
        self.databasePath = databasePath
        self.live = live
        self.version = version
        self.startedAt = startedAt
    }
}

/// What the routes ask of the harvest scheduler: to look at the due times now, and who is being harvested.
public struct RefreshControl: Sendable {
    public var requested: @Sendable () -> Void
    public var harvesting: @Sendable () -> Set<String>

    public init(requested: @escaping @Sendable () -> Void = {}, harvesting: @escaping @Sendable () -> Set<String> = { [] }) {
        self.requested = requested
        self.harvesting = harvesting
    }
}

/// `[api] public_url` and the `[oai]` keys: what OAI-PMH `Identify` and SRU `explain` say of the catalogue.
public struct Publication: Sendable {
    public var publicURL: String
    public var repositoryName: String
    public var adminEmail: String
    public var repositoryIdentifier: String
    public var recordsPerResponse: Int

    public init(
        publicURL: String = "http://localhost", repositoryName: String = "calisd union catalogue", adminEmail: String = "root@localhost",
        repositoryIdentifier: String = "calisd", recordsPerResponse: Int = 200
    ) {
        self.recordsPerResponse = recordsPerResponse
        self.publicURL = publicURL
        self.repositoryName = repositoryName
        self.adminEmail = adminEmail
        self.repositoryIdentifier = repositoryIdentifier
    }
}
