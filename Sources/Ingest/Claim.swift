#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Takes a file out of a member's folder before any work is done on it.
public enum Claim {
    /// Moves `entry` to `destination` by one atomic rename. When the spool is on another filesystem the rename
    /// cannot work: the file is copied to a temporary name beside `destination`, synced, renamed into place, and
    /// only then removed from the member's folder, so a crash at any point leaves the file in one place or both,
    /// never in neither.
    /// - Returns: whether the file had to be copied.
    /// - Throws: ``IngestError`` when neither works; the member's file is then untouched.
    @discardableResult
    public static func move(_ source: String, to destination: String) throws(IngestError) -> Bool {
        if rename(source, destination) == 0 { return false }
        guard errno == EXDEV else {
            throw IngestError("cannot claim \(source): \(String(cString: strerror(errno)))")
        }
        let temporary = destination + ".claiming"
        try copy(source, to: temporary)
        guard rename(temporary, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw IngestError("cannot claim \(source): \(reason)")
        }
        unlink(source)
        return true
    }

    private static func copy(_ source: String, to target: String) throws(IngestError) {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else { throw IngestError("cannot read \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard output >= 0 else { throw IngestError("cannot create \(target): \(String(cString: strerror(errno)))") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failure: String?
        while failure == nil {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                failure = "cannot read \(source): \(String(cString: strerror(errno)))"
                break
            }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write \(target): \(String(cString: strerror(errno)))"
                    break
                }
                written += result
            }
        }
        if failure == nil && fsync(output) != 0 { failure = "cannot sync \(target): \(String(cString: strerror(errno)))" }
        close(output)
        if let failure {
            unlink(target)
            throw IngestError(failure)
        }
    }
}
