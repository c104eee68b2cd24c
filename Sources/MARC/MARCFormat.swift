/// The serialisations calisd reads and writes.
public enum MARCFormat: String, Sendable, CaseIterable, Codable {
    case iso2709
    case marcxml
    case json
    /// The MarcEdit-style line form (`=245  10$aTitle`); written only.
    case text

    /// Decides the format from the first bytes of (decompressed) content: `<` is XML, `{` or `[` is JSON,
    /// anything else is ISO 2709. A BOM and leading whitespace are skipped.
    public static func detect(_ prefix: some Collection<UInt8>) -> MARCFormat {
        var bytes = Array(prefix.prefix(4096))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) { return .marcxml }
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return .iso2709 }
        switch first {
        case UInt8(ascii: "<"): return .marcxml
        case UInt8(ascii: "{"), UInt8(ascii: "["): return .json
        default: return .iso2709
        }
    }

    static func isGzip(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.starts(with: [0x1F, 0x8B])
    }
}

/// Opens any supported input: detects gzip by its magic bytes, then the format by content.
public enum MARCReaders {
    public struct Opened {
        public let reader: any MARCRecordReader
        public let format: MARCFormat
        public let compressed: Bool
    }

    /// - Throws: ``MARCError`` when the file cannot be opened or read.
    public static func open(path: String) throws -> Opened {
        try open(source: FileByteSource(path: path))
    }

    public static func open(bytes: [UInt8], bufferSize: Int = 1 << 20) throws -> Opened {
        try open(source: MemoryByteSource(bytes), bufferSize: min(bufferSize, max(bytes.count, 4096)))
    }

    /// - Parameter bufferSize: how much the reader reads at a time; records larger than it still fit.
    public static func open(source: any ByteSource, bufferSize: Int = 1 << 20) throws -> Opened {
        var (prefix, rest) = try peek(source, count: 4096)
        var compressed = false
        if MARCFormat.isGzip(prefix) {
            compressed = true
            let inflated = try GzipByteSource(PrefixedByteSource(prefix: prefix, rest: rest))
            (prefix, rest) = try peek(inflated, count: 4096)
        }
        let format = MARCFormat.detect(prefix)
        let source = PrefixedByteSource(prefix: prefix, rest: rest)
        let reader: any MARCRecordReader =
            switch format {
            case .marcxml: MARCXMLReader(source: source)
            case .json: MARCJSONReader(source: source, bufferSize: bufferSize)
            case .iso2709, .text: ISO2709Reader(source: source, bufferSize: bufferSize)
            }
        return Opened(reader: reader, format: format, compressed: compressed)
    }

    private static func peek(_ source: any ByteSource, count: Int) throws -> ([UInt8], any ByteSource) {
        var prefix = [UInt8](repeating: 0, count: count)
        var filled = 0
        var rest = source
        while filled < count {
            do {
                let read = try prefix.withUnsafeMutableBytes {
                    try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
                }
                if read == 0 { break }
                filled += read
            } catch let error as MARCError where error.code == .corrupt {
                // Keep what inflated before the damage; the reader reports the damage after it.
                rest = FailingByteSource(error: error)
                break
            }
        }
        prefix.removeSubrange(filled...)
        return (prefix, rest)
    }
}

/// A source that reports a damaged container on first read.
private final class FailingByteSource: ByteSource {
    let error: MARCError
    init(error: MARCError) { self.error = error }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { throw error }
}
