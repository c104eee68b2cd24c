import CMARCTables

/// Decodes MARC-8 to UTF-8 with every Library of Congress code table, EACC included.
///
/// Escape sequences designate G0 and G1 sets (technique 1 for Greek symbols, subscripts and superscripts;
/// ISO 2022 technique 2 for the rest, single- and multi-byte). Combining marks, which precede their base in
/// MARC-8, are moved after it as Unicode wants. Each field starts from the defaults, ASCII in G0 and ANSEL in
/// G1. Bad escapes and unmapped codes become U+FFFD and are counted; decoding always goes on.
struct MARC8Decoder {
    private enum Graphic: Equatable {
        case single(Int)
        case eacc
    }

    private static let asciiSet = Int(calisd_marc8_set_index(0x42))
    private static let anselSet = Int(calisd_marc8_set_index(0x45))

    private var g0 = Graphic.single(asciiSet)
    private var g1 = Graphic.single(anselSet)
    private var pending: [UInt32] = []
    /// Characters lost so far (each became U+FFFD), as short descriptions.
    var problems: [String] = []
    /// Damage repaired with the data intact, as short descriptions.
    var repairs: [String] = []

    private static func setIndex(_ final: UInt8) -> Int? {
        let index = Int(calisd_marc8_set_index(final))
        return index >= 0 ? index : nil
    }

    @inline(__always)
    private static func lookup(set: Int, byte: UInt8, highHalf: Bool) -> UInt32 {
        calisd_marc8_single(Int32(set), byte)
    }

    /// Resets to the defaults, as at the start of every field.
    mutating func reset() {
        g0 = .single(Self.asciiSet)
        g1 = .single(Self.anselSet)
        pending.removeAll(keepingCapacity: true)
    }

    /// Decodes one field's bytes (a control field's value, or a data field after its indicators).
    mutating func decodeField(_ input: ArraySlice<UInt8>, into output: inout [UInt8]) {
        reset()
        input.withUnsafeBufferPointer { bytes in
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                switch byte {
                case 0x1B:
                    let before = problems.count
                    index = escape(bytes, at: index)
                    if problems.count > before { emit(0xFFFD, into: &output) }
                case 0x00..<0x20:
                    // Controls, the subfield delimiter among them, pass through; a mark left hanging goes first.
                    flushPending(into: &output)
                    output.append(byte)
                    index += 1
                case 0x20:
                    emit(0x20, into: &output)
                    index += 1
                case 0x7F:
                    index += 1
                case UInt8(ascii: "{") where Self.universalName(bytes, at: index) != nil:
                    // III and MarcEdit write a character MARC-8 lacks as {uXXXX}.
                    let (scalar, length) = Self.universalName(bytes, at: index)!
                    emit(scalar, into: &output)
                    index += length
                case 0x21..<0x7F:
                    index = graphic(bytes, at: index, set: g0, highHalf: false, into: &output)
                default:
                    if byte < 0xA1 {
                        // C1 controls the ANSEL table maps (0x88/0x89 non-sort marks, 0x8D/0x8E joiners).
                        let value = Self.lookup(set: Self.anselSet, byte: byte, highHalf: true)
                        if value != 0 { emit(value, into: &output) } else { unmapped(byte, set: "C1", into: &output) }
                        index += 1
                    } else {
                        index = graphic(bytes, at: index, set: g1, highHalf: true, into: &output)
                    }
                }
            }
        }
        flushPending(into: &output)
    }

    private mutating func graphic(
        _ bytes: UnsafeBufferPointer<UInt8>, at index: Int, set: Graphic, highHalf: Bool, into output: inout [UInt8]
    ) -> Int {
        switch set {
        case .single(let table):
            let value = Self.lookup(set: table, byte: bytes[index], highHalf: highHalf)
            if value != 0 { emit(value, into: &output) } else { unmapped(bytes[index], set: "single-byte", into: &output) }
            return index + 1
        case .eacc:
            guard index + 2 < bytes.count else {
                problems.append("an EACC character is cut short at the end of the field")
                emit(0xFFFD, into: &output)
                return bytes.count
            }
            let a = bytes[index] & 0x7F
            var b = bytes[index + 1] & 0x7F
            var c = bytes[index + 2] & 0x7F
            // A subfield delimiter inside an EACC character was a `|` (0x7C) that a conversion through a text
            // format (where `|` writes the delimiter) turned into one. Taken back only when that makes a real
            // character.
            if b == MARCDelimiter.subfield || c == MARCDelimiter.subfield {
                let repairedB = b == MARCDelimiter.subfield ? 0x7C : b
                let repairedC = c == MARCDelimiter.subfield ? 0x7C : c
                if calisd_eacc(UInt32(a) << 16 | UInt32(repairedB) << 8 | UInt32(repairedC)) != 0 {
                    repairs.append("a subfield delimiter inside an EACC character was read as '|'")
                    b = repairedB
                    c = repairedC
                }
            }
            guard (0x21...0x7E).contains(b) || b == 0x20, (0x21...0x7E).contains(c) || c == 0x20 else {
                // A byte that cannot be part of an EACC character: mangled multibyte data.
                problems.append("a mangled EACC character")
                emit(0xFFFD, into: &output)
                return index + 1
            }
            let value = calisd_eacc(UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c))
            if value != 0 {
                emit(value, into: &output)
            } else {
                problems.append("EACC code \(hex(a))\(hex(b))\(hex(c)) has no mapping")
                emit(0xFFFD, into: &output)
            }
            return index + 3
        }
    }

    /// Reads an escape sequence and returns the index after it. An unknown or cut-off sequence is skipped and
    /// reported; the sets in force stay as they were.
    private mutating func escape(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        func byte(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        guard let first = byte(1) else {
            problems.append("an escape at the end of the field")
            return index + 1
        }
        switch first {
        case 0x67, 0x62, 0x70:  // ESC g / ESC b / ESC p: Greek symbols, subscripts, superscripts
            g0 = .single(Self.setIndex(first)!)
            return index + 2
        case 0x73:  // ESC s: back to ASCII
            g0 = .single(Self.asciiSet)
            return index + 2
        case 0x28, 0x2C, 0x29, 0x2D:  // ESC ( , ) - : a single-byte set into G0 or G1
            var finalAt = 2
            if byte(2) == 0x21 { finalAt = 3 }  // ESC ) ! E for extended Latin
            guard let final = byte(finalAt), let set = Self.setIndex(final) else {
                problems.append("an unknown escape sequence")
                return index + min(finalAt + 1, bytes.count - index)
            }
            if first == 0x28 || first == 0x2C { g0 = .single(set) } else { g1 = .single(set) }
            return index + finalAt + 1
        case 0x24:  // ESC $ …: a multi-byte set
            var target = 0x28 as UInt8
            var finalAt = 2
            if let next = byte(2), [0x28, 0x2C, 0x29, 0x2D].contains(next) {
                target = next
                finalAt = 3
            }
            guard let final = byte(finalAt) else {
                problems.append("an escape sequence cut short")
                return bytes.count
            }
            guard final == 0x31 else {
                problems.append("an unknown multi-byte escape sequence")
                return index + finalAt + 1
            }
            if target == 0x28 || target == 0x2C { g0 = .eacc } else { g1 = .eacc }
            return index + finalAt + 1
        default:
            problems.append("an unknown escape sequence")
            return index + 1
        }
    }

    /// `{u` four to six hex digits `}`, as a scalar and the bytes it takes.
    private static func universalName(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int)? {
        guard index + 6 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else { return nil }
        var value: UInt32 = 0
        var offset = index + 2
        while offset < bytes.count && offset - index - 2 < 6 {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "}") { break }
            guard let digit = byte.hexDigitValue else { return nil }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        let digits = offset - index - 2
        guard digits >= 4, offset < bytes.count, bytes[offset] == UInt8(ascii: "}"), Unicode.Scalar(value) != nil
        else { return nil }
        return (value, digits + 3)
    }

    private mutating func unmapped(_ byte: UInt8, set: String, into output: inout [UInt8]) {
        problems.append("byte \(hex(byte)) has no mapping in the \(set) set in force")
        emit(0xFFFD, into: &output)
    }

    private mutating func emit(_ value: UInt32, into output: inout [UInt8]) {
        if value & 0x8000_0000 != 0 {
            pending.append(value & 0x7FFF_FFFF)
            return
        }
        appendScalar(value, to: &output)
        flushPending(into: &output)
    }

    private mutating func flushPending(into output: inout [UInt8]) {
        guard !pending.isEmpty else { return }
        for mark in pending { appendScalar(mark, to: &output) }
        pending.removeAll(keepingCapacity: true)
    }
}

@inline(__always)
func appendScalar(_ value: UInt32, to output: inout [UInt8]) {
    let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
    if scalar.value < 0x80 {
        output.append(UInt8(scalar.value))
    } else {
        output.append(contentsOf: UTF8.encode(scalar)!)
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
