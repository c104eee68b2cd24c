import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// inotify on the drop folder and every member folder in it. Events come out as an `AsyncStream`; a queue
/// overflow comes out as `.overflow`, on which the caller scans everything again.
public final class DropWatcher: Sendable {
    public enum Event: Sendable, Equatable {
        /// An entry was closed after writing or created (`renamedIntoPlace` false), or renamed in (true).
        case entry(member: String, name: String, renamedIntoPlace: Bool)
        /// A folder appeared in the drop folder: perhaps a new member's.
        case folder(name: String)
        /// The kernel's event queue overflowed: events were lost.
        case overflow
    }

    private let descriptor: Int32
    private let dropDirectory: String
    private let watches = Mutex<[Int32: String]>([:])
    private let stopped = Atomic<Bool>(false)

    public init(dropDirectory: String) throws(IngestError) {
        self.dropDirectory = dropDirectory
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw IngestError("cannot start inotify: \(String(cString: strerror(errno)))") }
        let top = inotify_add_watch(descriptor, dropDirectory, UInt32(IN_CREATE | IN_MOVED_TO | IN_ONLYDIR))
        guard top >= 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw IngestError("cannot watch \(dropDirectory): \(reason)")
        }
        watches.withLock { $0[top] = "" }
    }

    deinit { close(descriptor) }

    /// Watches a member's folder (again: adding an existing watch is harmless).
    public func watch(member: String) throws(IngestError) {
        let path = dropDirectory + "/" + member
        let mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW
        let wd = inotify_add_watch(descriptor, path, UInt32(mask))
        guard wd >= 0 else { throw IngestError("cannot watch \(path): \(String(cString: strerror(errno)))") }
        watches.withLock { $0[wd] = member }
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }

    /// Reads events on a thread of its own until ``stop()``: inotify has no async interface, and a blocked
    /// read must not hold one of the few cooperative threads.
    public func start(_ deliver: @escaping @Sendable (Event) -> Void) {
        let thread = Thread { [self] in readLoop(deliver) }
        thread.name = "calisd-inotify"
        thread.start()
    }

    private func readLoop(_ deliver: (Event) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let headerSize = MemoryLayout<inotify_event>.size
        while !stopped.load(ordering: .relaxed) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 250)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { continue }
            var offset = 0
            buffer.withUnsafeBytes { raw in
                while offset + headerSize <= count {
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let nameBytes = raw[(offset + headerSize)..<(offset + headerSize + Int(event.len))]
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    offset += headerSize + Int(event.len)
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        deliver(.overflow)
                        continue
                    }
                    if event.mask & UInt32(IN_IGNORED) != 0 {
                        _ = watches.withLock { $0.removeValue(forKey: event.wd) }
                        continue
                    }
                    guard let member = watches.withLock({ $0[event.wd] }), !name.isEmpty else { continue }
                    if member.isEmpty {
                        deliver(.folder(name: name))
                    } else {
                        deliver(
                            .entry(member: member, name: name, renamedIntoPlace: event.mask & UInt32(IN_MOVED_TO) != 0))
                    }
                }
            }
        }
    }
}
