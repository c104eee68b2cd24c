import CZlib

/// Inflates a gzip stream, several concatenated members included, from another source.
public final class GzipByteSource: ByteSource {
    private let compressed: any ByteSource
    private var stream = z_stream()
    private let input: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var finished = false
    private var atMemberBoundary = false
    private var produced: Int64 = 0

    public init(_ compressed: any ByteSource) throws {
        self.compressed = compressed
        input = .allocate(byteCount: 1 << 16, alignment: 16)
        guard calisd_inflate_init_gzip(&stream) == Z_OK else {
            input.deallocate()
            throw MARCError(.io, "cannot start gzip decompression")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    /// - Throws: ``MARCError`` `corrupt` when the compressed data is damaged or ends inside a member.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        stream.next_out = out.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(clamping: buffer.count)
        var written: Int { buffer.count - Int(stream.avail_out) }

        while stream.avail_out > 0 {
            if stream.avail_in == 0 {
                if inputEnded {
                    if atMemberBoundary {
                        finished = true
                        break
                    }
                    if written > 0 { break }
                    finished = true
                    throw MARCError(.corrupt, "gzip stream ends early", byteOffset: produced)
                }
                let count = try compressed.read(into: input)
                if count == 0 {
                    inputEnded = true
                    continue
                }
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = UInt32(count)
            }
            if atMemberBoundary && stream.next_in.pointee != 0x1F {
                // Padding after the last member (tape blocks, zeros) is not another member.
                finished = true
                break
            }
            let status = inflate(&stream, Z_NO_FLUSH)
            switch status {
            case Z_STREAM_END:
                atMemberBoundary = true
                inflateReset(&stream)
            case Z_OK, Z_BUF_ERROR:
                atMemberBoundary = false
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                finished = true
                throw MARCError(.corrupt, "gzip data is corrupt: \(message)", byteOffset: produced + Int64(written))
            }
        }
        produced += Int64(written)
        return written
    }
}
