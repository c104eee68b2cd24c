import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Gives block keys from before migration 0019 their conflict sketches while the daemon serves: it reads the
/// whole catalogue once (five minutes at 9.85 M records here), which must not keep the API down. Until it is
/// done, placement reads the masters those sketches would have spared it. Shutdown stops it between steps; it
/// starts again at the next start, keeping what it filled.
struct ConflictSketchService: Service {
    let store: CatalogStore
    let matcher: any UnionMatcher
    let logger: Logger

    private final class StopRequest: Sendable {
        let requested = Atomic<Bool>(false)
    }

    func run() async {
        do {
            guard try store.conflictSketchesPending() else { return }
        } catch {
            logger.error("cannot tell whether conflict sketches are to fill", metadata: ["calisd.reason": "\(error)"])
            return
        }
        logger.notice("filling the conflict sketches of existing block keys")
        let stop = StopRequest()
        let (store, matcher, logger) = (store, matcher, logger)
        await withTaskCancellationOrGracefulShutdownHandler {
            // A thread of its own: the pass blocks for minutes, and the concurrency pool has a thread a core.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    do {
                        let fill = try store.fillMissingConflictSketches(matcher: matcher) { stop.requested.load(ordering: .relaxed) }
                        if fill.finished {
                            logger.notice("conflict sketches filled for existing block keys", metadata: ["calisd.count": "\(fill.filled)"])
                        } else {
                            logger.notice("conflict sketch fill stopped; it starts again at the next start", metadata: ["calisd.count": "\(fill.filled)"])
                        }
                    } catch {
                        logger.error("conflict sketch fill failed; it is tried again at the next start", metadata: ["calisd.reason": "\(error)"])
                    }
                    done.resume()
                }
            }
        } onCancelOrGracefulShutdown: {
            stop.requested.store(true, ordering: .relaxed)
        }
    }
}
