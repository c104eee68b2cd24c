#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable window over a ``ByteSource``: readers look ahead as far as one record needs, then consume it.
final class InputWindow {
    private let source: any ByteSource
    private(set) var buffer: UnsafeMutableRawBufferPointer
    /// First unconsumed byte.
    private(set) var start = 0
    /// End of valid bytes.
    private(set) var end = 0
    private(set) var atEnd = false
    /// Absolute input offset of `buffer[0]`.
    private var bufferOffset: Int64 = 0
    /// A damaged container (gzip) ends the input; the reader reports it once.
    var containerError: MARCError?

    init(source: any ByteSource, capacity: Int = 1 << 20) {
        self.source = source
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    var available: Int { end - start }
    var offset: Int64 { bufferOffset + Int64(start) }
    var base: UnsafeMutableRawPointer { buffer.baseAddress! }

    func absoluteOffset(ofIndex index: Int) -> Int64 { bufferOffset + Int64(index) }

    @inline(__always) func byte(at index: Int) -> UInt8 { buffer[index] }

    /// Makes at least `count` bytes available from `start`; false when the input ends first.
    func require(_ count: Int) throws -> Bool {
        while end - start < count {
            if atEnd { return false }
            try readMore(wanting: count)
        }
        return true
    }

    /// Reads one more chunk; false at the end of input.
    @discardableResult
    func readMore(wanting count: Int = 0) throws -> Bool {
        guard !atEnd else { return false }
        if start > 0 && (end == buffer.count || start + max(count, 1) > buffer.count) {
            let live = end - start
            if live > 0 { memmove(base, base + start, live) }
            bufferOffset += Int64(start)
            end = live
            start = 0
        }
        if end == buffer.count || count > buffer.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(
                byteCount: max(buffer.count * 2, count + (1 << 16)), alignment: 16)
            grown.baseAddress!.copyMemory(from: base, byteCount: end)
            buffer.deallocate()
            buffer = grown
        }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[end...])
        do {
            let count = try source.read(into: target)
            if count == 0 {
                atEnd = true
                return false
            }
            end += count
            return true
        } catch let error as MARCError where error.code == .corrupt {
            containerError = error
            atEnd = true
            return false
        }
    }

    /// Index of the first `byte` at or after `from`, reading more input as needed, or nil at the end of
    /// input or after `limit` bytes from `start`. Indices are relative to the buffer and stay valid until
    /// the next consume.
    func find(_ byte: UInt8, from: Int, limit: Int) throws -> Int? {
        var searchFrom = from
        while true {
            let stop = min(end, start + limit)
            if searchFrom < stop, let hit = memchr(base + searchFrom, Int32(byte), stop - searchFrom) {
                return base.distance(to: hit)
            }
            if end - start >= limit || atEnd { return nil }
            let relative = max(stop, searchFrom) - start
            try readMore(wanting: end - start + 1)
            searchFrom = start + relative
        }
    }

    func consume(_ count: Int) {
        start += count
    }

    func copy(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: buffer[range]))
    }
}
