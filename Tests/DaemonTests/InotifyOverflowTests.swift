import APITypes
import CalisdTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// inotify's queue really overflows (its limit lowered for the daemon's instance), and nothing is lost.
@Suite("inotify overflow")
struct InotifyOverflowTests {
    static let limitPath = "/proc/sys/fs/inotify/max_queued_events"

    static var canLowerLimit: Bool { getuid() == 0 && access(limitPath, W_OK) == 0 }

    @Test(
        "with a queue of 8 events and 400 files dropped while the daemon is stopped, the overflow triggers a rescan and every file is ingested",
        .enabled(if: canLowerLimit, "needs root and a writable \(limitPath) to make the kernel's queue overflow"))
    func overflowLosesNothing() async throws {
        let original = try String(contentsOfFile: Self.limitPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try DaemonProcess(binary: DaemonSupport.binary)
        defer { daemon.remove() }
        // The limit is read when the daemon creates its inotify instance; everyone else keeps the usual one.
        try "8".write(toFile: Self.limitPath, atomically: false, encoding: .utf8)
        do {
            try await daemon.start()
            try await waitUntil("the watcher is up") { try await DaemonSupport.status(daemon).ingest.scans >= 1 }
        } catch {
            try? original.write(toFile: Self.limitPath, atomically: false, encoding: .utf8)
            throw error
        }
        try original.write(toFile: Self.limitPath, atomically: false, encoding: .utf8)
        #expect(try daemon.ctl("members", "add", "M001", "--name", "One").status == 0)
        try await waitUntil("the new member's folder is watched") { FileManager.default.fileExists(atPath: daemon.memberFolder("M001")) }
        try await Task.sleep(for: .milliseconds(500))
        let books = try DaemonSupport.locBooks()
        let files = 400
        // Stopped, the daemon reads no events while the files arrive: the kernel's queue must overflow.
        kill(daemon.pid!, SIGSTOP)
        defer { kill(daemon.pid!, SIGCONT) }
        for index in 0..<files {
            let record = DaemonSupport.rewrite(books[index % books.count], controlNumber: "F\(index)")
            #expect(FileManager.default.createFile(
                atPath: daemon.memberFolder("M001") + "/f\(index).mrc", contents: Data(try DaemonSupport.iso([record]))))
        }
        kill(daemon.pid!, SIGCONT)
        try await DaemonSupport.waitForFinished(daemon, member: "M001", count: files, timeout: .seconds(300))
        let status = try await DaemonSupport.status(daemon)
        #expect(status.ingest.overflowRescans >= 1, "the queue did not overflow, so this test proved nothing")
        #expect(status.records.source == files)
        #expect(daemon.entries(member: "M001").isEmpty)
    }
}
