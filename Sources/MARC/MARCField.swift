/// The fields of a record, in order.
public struct MARCFields: RandomAccessCollection, Sendable {
    let record: MARCRecord

    public var startIndex: Int { 0 }
    public var endIndex: Int { record.entries.count }
    public subscript(position: Int) -> MARCField { MARCField(record: record, index: position) }
}

/// A view of one field: its tag and a byte range in its record's buffer.
public struct MARCField: Sendable, Hashable {
    let record: MARCRecord
    let index: Int

    init(record: MARCRecord, index: Int) {
        self.record = record
        self.index = index
    }

    private var entry: FieldEntry { record.entries[index] }

    public var tag: MARCTag { entry.tag }
    public var isControlField: Bool { entry.isControl }

    /// The field's bytes as stored, without the field terminator.
    public var data: ArraySlice<UInt8> { record.storage[entry.range] }

    /// The whole value of a control field (for a data field, its bytes after the indicators).
    public var value: String {
        let bytes = data
        if entry.isControl { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes.dropFirst(2), as: UTF8.self)
    }

    public var indicator1: UInt8 { indicator(0) }
    public var indicator2: UInt8 { indicator(1) }

    private func indicator(_ offset: Int) -> UInt8 {
        let range = entry.range
        guard !entry.isControl, range.count > offset else { return 0x20 }
        return record.storage[range.lowerBound + offset]
    }

    /// Subfields in order. Bytes between the indicators and the first delimiter, if any, are not a subfield.
    public var subfields: MARCSubfields {
        let range = entry.range
        guard !entry.isControl, range.count > 2 else { return MARCSubfields(storage: record.storage, range: 0..<0) }
        return MARCSubfields(storage: record.storage, range: (range.lowerBound + 2)..<range.upperBound)
    }

    /// The value of the first subfield `code`, if any.
    public func subfield(_ code: Character) -> String? {
        guard let ascii = code.asciiValue else { return nil }
        for subfield in subfields where subfield.code == ascii { return subfield.value }
        return nil
    }

    /// Every value of subfield `code`, in order.
    public func subfields(_ code: Character) -> [String] {
        guard let ascii = code.asciiValue else { return [] }
        return subfields.filter { $0.code == ascii }.map(\.value)
    }

    public static func == (lhs: MARCField, rhs: MARCField) -> Bool {
        lhs.tag == rhs.tag && lhs.isControlField == rhs.isControlField && lhs.data == rhs.data
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tag)
        hasher.combine(isControlField)
        hasher.combine(data)
    }
}

/// One subfield: its code (one byte, or one UTF-8 character) and its value's bytes.
public struct MARCSubfield: Sendable, Hashable {
    /// The code's first byte: the whole code whenever it is ASCII, as it almost always is.
    public var code: UInt8 { codeBytes.first ?? 0x20 }
    public let codeBytes: ArraySlice<UInt8>
    public let bytes: ArraySlice<UInt8>

    public var codeString: String { String(decoding: codeBytes, as: UTF8.self) }
    public var value: String { String(decoding: bytes, as: UTF8.self) }
}

/// Walks the `0x1F`-delimited subfields of one data field without copying.
public struct MARCSubfields: Sequence, Sendable {
    let storage: [UInt8]
    let range: Range<Int>

    public struct Iterator: IteratorProtocol {
        let storage: [UInt8]
        var position: Int
        let end: Int

        public mutating func next() -> MARCSubfield? {
            // Skip anything before the first delimiter; it belongs to no subfield.
            while position < end && storage[position] != MARCDelimiter.subfield { position += 1 }
            guard position < end else { return nil }
            let codeAt = position + 1
            guard codeAt < end else {
                position = end
                return nil
            }
            let codeLength = storage.withUnsafeBufferPointer { subfieldCodeLength($0, at: codeAt, end: end) }
            var valueEnd = codeAt + codeLength
            while valueEnd < end && storage[valueEnd] != MARCDelimiter.subfield { valueEnd += 1 }
            position = valueEnd
            return MARCSubfield(
                codeBytes: storage[codeAt..<(codeAt + codeLength)], bytes: storage[(codeAt + codeLength)..<valueEnd])
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(storage: storage, position: range.lowerBound, end: range.upperBound)
    }
}

/// How many bytes a subfield code takes at `index`: one, or a whole UTF-8 character (danMARC2 has `å`).
@inline(__always)
func subfieldCodeLength(_ storage: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> Int {
    let lead = storage[index]
    let expected: Int
    switch lead {
    case 0xC2...0xDF: expected = 2
    case 0xE0...0xEF: expected = 3
    case 0xF0...0xF4: expected = 4
    default: return 1
    }
    guard index + expected <= end else { return 1 }
    for offset in 1..<expected where storage[index + offset] & 0xC0 != 0x80 { return 1 }
    return expected
}
