/// Appends values to JSON and XML output. Invalid UTF-8 becomes U+FFFD so the output always parses.
enum TextEscaping {
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// The length of a valid UTF-8 sequence starting at `index`, or 0.
    @inline(__always)
    private static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        let count = bytes.count
        func continuation(_ i: Int) -> Bool { i < count && bytes[i] & 0xC0 == 0x80 }
        switch lead {
        case 0xC2...0xDF:
            return continuation(index + 1) ? 2 : 0
        case 0xE0...0xEF:
            guard continuation(index + 1), continuation(index + 2) else { return 0 }
            let second = bytes[index + 1]
            if lead == 0xE0 && second < 0xA0 { return 0 }
            if lead == 0xED && second > 0x9F { return 0 }
            return 3
        case 0xF0...0xF4:
            guard continuation(index + 1), continuation(index + 2), continuation(index + 3) else { return 0 }
            let second = bytes[index + 1]
            if lead == 0xF0 && second < 0x90 { return 0 }
            if lead == 0xF4 && second > 0x8F { return 0 }
            return 4
        default:
            return 0
        }
    }

    static func appendJSONString(_ value: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: jsonStringBound(value.count)) { space in
            var writer = ByteWriter(space.baseAddress!)
            writeJSONString(value, to: &writer)
            output.append(contentsOf: writer.written)
        }
    }

    /// The most `writeJSONString` writes for `count` bytes: the quotes, and six bytes (`\u00XX`) for each.
    static func jsonStringBound(_ count: Int) -> Int { 2 + 6 * count }

    /// Writes `value` as a quoted JSON string; the writer must have room for `jsonStringBound(value.count)`.
    static func writeJSONString(_ value: UnsafeBufferPointer<UInt8>, to output: inout ByteWriter) {
        output.write(UInt8(ascii: "\""))
        var index = 0
        var runStart = 0
        let count = value.count
        func flush(_ upTo: Int) {
            if runStart < upTo { output.write(UnsafeBufferPointer(rebasing: value[runStart..<upTo])) }
        }
        while index < count {
            if index + 8 <= count, !needsJSONEscape(UnsafeRawPointer(value.baseAddress! + index).loadUnaligned(as: UInt64.self)) {
                index += 8
                continue
            }
            let byte = value[index]
            if byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if byte >= 0x80 {
                let length = sequenceLength(value, at: index)
                if length > 0 {
                    index += length
                    continue
                }
                flush(index)
                for replacementByte in replacement { output.write(replacementByte) }
                index += 1
                runStart = index
                continue
            }
            flush(index)
            output.write(0x5C)
            switch byte {
            case UInt8(ascii: "\""): output.write(0x22)
            case UInt8(ascii: "\\"): output.write(0x5C)
            case 0x0A: output.write(UInt8(ascii: "n"))
            case 0x0D: output.write(UInt8(ascii: "r"))
            case 0x09: output.write(UInt8(ascii: "t"))
            default:
                output.write("u00")
                output.write(hexDigits[Int(byte >> 4)])
                output.write(hexDigits[Int(byte & 0xF)])
            }
            index += 1
            runStart = index
        }
        flush(count)
        output.write(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether any of eight bytes is a control character, a quote, a backslash or not ASCII: most values are
    /// copied eight bytes a test.
    @inline(__always)
    private static func needsJSONEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }
        let belowSpace = (word &- ones &* 0x20) & ~word & highs != 0
        return word & highs != 0 || belowSpace || hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C))
    }

    /// Escapes for XML text or attribute values. Characters XML 1.0 forbids become U+FFFD.
    static func appendXML(_ value: UnsafeBufferPointer<UInt8>, attribute: Bool, to output: inout [UInt8]) {
        var index = 0
        var runStart = 0
        let count = value.count
        func flush(_ upTo: Int) {
            if runStart < upTo { output.append(contentsOf: UnsafeBufferPointer(rebasing: value[runStart..<upTo])) }
        }
        while index < count {
            let byte = value[index]
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""):
                flush(index)
                switch byte {
                case UInt8(ascii: "&"): output.append(contentsOf: Array("&amp;".utf8))
                case UInt8(ascii: "<"): output.append(contentsOf: Array("&lt;".utf8))
                case UInt8(ascii: ">"): output.append(contentsOf: Array("&gt;".utf8))
                default:
                    if attribute { output.append(contentsOf: Array("&quot;".utf8)) } else { output.append(byte) }
                }
                index += 1
                runStart = index
            case 0x09, 0x0A, 0x0D:
                if attribute {
                    flush(index)
                    output.append(contentsOf: Array("&#x\(String(byte, radix: 16));".utf8))
                    runStart = index + 1
                }
                index += 1
            case 0x00..<0x20:
                flush(index)
                output.append(contentsOf: replacement)
                index += 1
                runStart = index
            case 0x80...:
                let length = sequenceLength(value, at: index)
                // U+FFFE and U+FFFF are not XML characters either.
                if length == 3 && byte == 0xEF && value[index + 1] == 0xBF && value[index + 2] >= 0xBE {
                    flush(index)
                    output.append(contentsOf: replacement)
                    index += 3
                    runStart = index
                } else if length > 0 {
                    index += length
                } else {
                    flush(index)
                    output.append(contentsOf: replacement)
                    index += 1
                    runStart = index
                }
            default:
                index += 1
            }
        }
        flush(count)
    }
}
