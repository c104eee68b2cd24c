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

    public init(
        store: CatalogStore, ingest: IngestService, dropDirectory: String, uploadsDirectory: String, databasePath: String,
        live: LiveSettings, version: String, startedAt: Date = Date()
    ) {
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
