#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibXML2

/// Feeds libxml2 from a ``ByteSource``, a chunk at a time; the reader keeps the errors libxml2 reports.
///
/// A file whose root is a `<record>` may hold several of them back to back, which XML forbids but exporters
/// write; such input is read inside an added wrapper element so every record is seen.
final class XMLInput {
    static let wrapperOpen = Array("<calisd-records>".utf8)
    static let wrapperClose = Array("</calisd-records>".utf8)

    private let source: any ByteSource
    private var head: [UInt8] = []
    private var tail: [UInt8] = []
    private(set) var sourceEnded = false
    /// Where the source's bytes end in what `read` gives, once they have: the wrapper's close follows.
    private(set) var endOffset: Int64?
    private var handedOut: Int64 = 0
    var sourceError: MARCError?

    init(source: any ByteSource) {
        self.source = source
        var prefix = [UInt8](repeating: 0, count: 4096)
        var filled = 0
        do {
            while filled < prefix.count {
                let count = try prefix.withUnsafeMutableBytes {
                    try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
                }
                if count == 0 { break }
                filled += count
            }
        } catch let error as MARCError {
            sourceError = error
        } catch {
            sourceError = MARCError(.io, "\(error)")
        }
        prefix.removeSubrange(filled...)
        if let rootAt = Self.recordRootOffset(prefix) {
            head = Array(prefix[..<rootAt]) + Self.wrapperOpen + Array(prefix[rootAt...])
            tail = Self.wrapperClose
        } else {
            head = prefix
        }
    }

    /// Where the root element starts, when that root is a `record` (with or without a prefix).
    static func recordRootOffset(_ bytes: [UInt8]) -> Int? {
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func starts(_ text: String) -> Bool { bytes[index...].starts(with: text.utf8) }
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D:
                index += 1
            case UInt8(ascii: "<"):
                if starts("<?") || starts("<!--") {
                    let close = starts("<?") ? Array("?>".utf8) : Array("-->".utf8)
                    guard let end = bytes[index...].firstRange(of: close) else { return nil }
                    index = end.upperBound
                    continue
                }
                if starts("<!") { return nil }
                var nameEnd = index + 1
                while nameEnd < bytes.count, ![0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/")].contains(bytes[nameEnd]) {
                    nameEnd += 1
                }
                let name = bytes[(index + 1)..<nameEnd]
                let local = name.lastIndex(of: UInt8(ascii: ":")).map { name[($0 + 1)...] } ?? name
                return local.elementsEqual("record".utf8) ? index : nil
            default:
                return nil
            }
        }
        return nil
    }

    /// libxml2 pulls a few KiB a call when it reads the input itself; a read from the source for each would cost
    /// more in system calls than the parse.
    private var readAhead: [CChar] = []
    private var readAheadStart = 0
    private var readAheadEnd = 0

    /// Like `read`, for a caller that asks for little at a time.
    func readBuffered(into buffer: UnsafeMutablePointer<CChar>, length: Int32) -> Int32 {
        if readAheadStart == readAheadEnd {
            if readAhead.isEmpty { readAhead = [CChar](repeating: 0, count: MARCXMLReader.chunkSize) }
            let count = readAhead.withUnsafeMutableBufferPointer { read(into: $0.baseAddress!, length: Int32($0.count)) }
            guard count > 0 else { return count }
            readAheadStart = 0
            readAheadEnd = Int(count)
        }
        let count = min(Int(length), readAheadEnd - readAheadStart)
        readAhead.withUnsafeBufferPointer {
            buffer.update(from: $0.baseAddress! + readAheadStart, count: count)
        }
        readAheadStart += count
        return Int32(count)
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, length: Int32) -> Int32 {
        if sourceError != nil { return -1 }
        if !head.isEmpty {
            let count = min(Int(length), head.count)
            head.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: count) }
            head.removeFirst(count)
            handedOut += Int64(count)
            return Int32(count)
        }
        if sourceEnded {
            let count = min(Int(length), tail.count)
            if count > 0 {
                tail.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: count) }
                tail.removeFirst(count)
            }
            return Int32(count)
        }
        do {
            let count = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length)))
            if count == 0 {
                sourceEnded = true
                endOffset = handedOut
                return read(into: buffer, length: length)
            }
            handedOut += Int64(count)
            return Int32(count)
        } catch let error as MARCError {
            sourceError = error
            return -1
        } catch {
            sourceError = MARCError(.io, "\(error)")
            return -1
        }
    }
}
