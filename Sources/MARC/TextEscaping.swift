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
        output.append(UInt8(ascii: "\""))
        var index = 0
        var runStart = 0
        let count = value.count
        func flush(_ upTo: Int) {
            if runStart < upTo { output.append(contentsOf: UnsafeBufferPointer(rebasing: value[runStart..<upTo])) }
        }
        while index < count {
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
                output.append(contentsOf: replacement)
                index += 1
                runStart = index
                continue
            }
            flush(index)
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
            index += 1
            runStart = index
        }
        flush(count)
        output.append(UInt8(ascii: "\""))
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
