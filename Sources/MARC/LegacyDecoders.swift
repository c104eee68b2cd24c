import CMARCTables
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes a legacy byte encoding to UTF-8 through glibc iconv. Invalid bytes become U+FFFD and are counted.
final class IconvDecoder {
    private let handle: iconv_t
    let name: String

    init?(from name: String) {
        let handle = iconv_open("UTF-8", name)
        guard let handle, Int(bitPattern: handle) != -1 else { return nil }
        self.handle = handle
        self.name = name
    }

    deinit { iconv_close(handle) }

    /// Appends the UTF-8 of `input` to `output`; returns how many bytes could not be decoded.
    @discardableResult
    func decode(_ input: ArraySlice<UInt8>, into output: inout [UInt8]) -> Int {
        var invalid = 0
        var source = Array(input)
        let capacity = source.count * 4 + 16
        var buffer = [UInt8](repeating: 0, count: capacity)
        iconv(handle, nil, nil, nil, nil)
        source.withUnsafeMutableBufferPointer { sourceBuffer in
            buffer.withUnsafeMutableBufferPointer { target in
                var inPointer = UnsafeMutableRawPointer(sourceBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var inLeft = sourceBuffer.count
                while inLeft > 0 {
                    var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(target.baseAddress!)
                        .assumingMemoryBound(to: CChar.self)
                    var outLeft = target.count
                    let result = iconv(handle, &inPointer, &inLeft, &outPointer, &outLeft)
                    let produced = target.count - outLeft
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: target[0..<produced]))
                    if result == -1 {
                        if errno == E2BIG { continue }
                        // EILSEQ or EINVAL: one byte that does not decode; skip it and go on.
                        invalid += 1
                        output.append(contentsOf: [0xEF, 0xBF, 0xBD])
                        inPointer = inPointer.map { $0 + 1 }
                        inLeft -= 1
                        iconv(handle, nil, nil, nil, nil)
                    }
                }
            }
        }
        return invalid
    }
}

/// ISO 5426, UNIMARC's extended Latin set: ASCII below 0x80, the table above, combining marks before their base.
struct ISO5426Decoder {
    var unmapped = 0

    mutating func decode(_ input: ArraySlice<UInt8>, into output: inout [UInt8]) {
        var pending: [UInt32] = []
        func flush() {
            for mark in pending { appendScalar(mark, to: &output) }
            pending.removeAll()
        }
        for byte in input {
            if byte < 0x80 {
                output.append(byte)
                if byte >= 0x20 { flush() }
                continue
            }
            let value = calisd_iso5426(byte)
            if value == 0 {
                unmapped += 1
                appendScalar(0xFFFD, to: &output)
                flush()
            } else if value & 0x8000_0000 != 0 {
                pending.append(value & 0x7FFF_FFFF)
            } else {
                appendScalar(value, to: &output)
                flush()
            }
        }
        flush()
    }
}
