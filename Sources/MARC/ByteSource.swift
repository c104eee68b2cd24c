#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A stream of bytes read in chunks. Readers never hold more of it than one record (or one chunk) needs.
public protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes and returns how many; 0 means the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Reads a file through a descriptor it owns.
public final class FileByteSource: ByteSource {
    private let descriptor: Int32
    public let path: String

    /// - Throws: ``MARCError`` with code `io` when the file cannot be opened.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw MARCError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        self.path = path
    }

    /// Adopts `descriptor`, which is closed when the source goes away.
    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        path = name
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = Glibc.read(descriptor, base, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw MARCError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Serves bytes already in memory (tests, fuzzing, request bodies).
public final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
        }
        position += count
        return count
    }
}

/// Puts bytes already read back in front of a source, so format detection can look ahead without losing them.
final class PrefixedByteSource: ByteSource {
    private var prefix: [UInt8]
    private var position = 0
    private let rest: any ByteSource

    init(prefix: [UInt8], rest: any ByteSource) {
        self.prefix = prefix
        self.rest = rest
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if position < prefix.count {
            let count = min(buffer.count, prefix.count - position)
            prefix.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
            }
            position += count
            if position == prefix.count { prefix = [] ; position = Int.max }
            return count
        }
        return try rest.read(into: buffer)
    }
}
