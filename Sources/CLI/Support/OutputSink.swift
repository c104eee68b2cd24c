#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MARC

/// Buffered output to a descriptor: records are appended to `buffer`, which is written out in large blocks.
final class OutputSink {
    var buffer: [UInt8] = []
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let name: String
    private static let blockSize = 1 << 20

    init(descriptor: Int32, name: String, owns: Bool) {
        self.descriptor = descriptor
        self.name = name
        ownsDescriptor = owns
        buffer.reserveCapacity(Self.blockSize + (1 << 16))
    }

    static func standardOutput() -> OutputSink { OutputSink(descriptor: 1, name: "standard output", owns: false) }

    /// Creates (or truncates) `path` with mode 0644.
    static func file(_ path: String) throws -> OutputSink {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MARCError(.output, "cannot create \(path): \(String(cString: strerror(errno)))") }
        return OutputSink(descriptor: fd, name: path, owns: true)
    }

    /// Writes the buffer out once it has grown past a block.
    func flushIfFull() throws {
        if buffer.count >= Self.blockSize { try flush() }
    }

    func flush() throws {
        var written = 0
        try buffer.withUnsafeBytes { raw in
            while written < raw.count {
                let count = write(descriptor, raw.baseAddress! + written, raw.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw MARCError(.output, "cannot write to \(name): \(String(cString: strerror(errno)))")
                }
                written += count
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        if ownsDescriptor {
            guard fsync(descriptor) == 0 || errno == EINVAL else {
                throw MARCError(.output, "cannot write to \(name): \(String(cString: strerror(errno)))")
            }
            Glibc.close(descriptor)
        }
    }
}

/// Writes to standard error without buffering surprises.
enum StandardError {
    static func write(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        writeRaw(text)
    }

    /// Writes exactly `text`, with no newline added (progress bars redraw one line).
    static func writeRaw(_ text: String) {
        text.utf8CString.withUnsafeBufferPointer { buffer in
            _ = Glibc.write(2, buffer.baseAddress!, buffer.count - 1)
        }
    }
}
