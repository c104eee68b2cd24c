/// One MARC record: a leader and fields, in order, lossless.
///
/// Field data stays as byte ranges over one buffer (`storage`) until someone asks for a `String`. For a record
/// read from ISO 2709 the buffer is the record exactly as received; records read from XML or JSON, or built in
/// code, keep their field data in the same shape (indicators, then `0x1F`-led subfields).
public struct MARCRecord: Sendable, Hashable {
    public var leader: Leader
    package var storage: [UInt8]
    package var entries: [FieldEntry]
    /// What the bytes are encoded in, as detected when the record was read.
    public var encoding: MARCEncoding
    /// Subfields counted while parsing, so statistics need not walk the record again; nil once edited.
    package var knownSubfieldCount: Int32?

    package init(leader: Leader, storage: [UInt8], entries: [FieldEntry], encoding: MARCEncoding) {
        self.leader = leader
        self.storage = storage
        self.entries = entries
        self.encoding = encoding
    }

    /// An empty record with the given leader.
    public init(leader: Leader = Leader()) {
        self.init(leader: leader, storage: [], entries: [], encoding: .ascii)
    }

    public var fields: MARCFields { MARCFields(record: self) }

    public var fieldCount: Int { entries.count }

    public var controlFieldCount: Int {
        var count = 0
        for entry in entries where entry.isControl { count += 1 }
        return count
    }

    /// The first field with `tag`, if any.
    public func first(_ tag: MARCTag) -> MARCField? {
        for index in entries.indices where entries[index].tag == tag {
            return MARCField(record: self, index: index)
        }
        return nil
    }

    /// Every field with `tag`, in record order.
    public func all(_ tag: MARCTag) -> [MARCField] {
        entries.indices.compactMap { entries[$0].tag == tag ? MARCField(record: self, index: $0) : nil }
    }

    /// The 001 with surrounding spaces trimmed: a member's local record id.
    public var controlNumber: String? {
        guard let field = first("001") else { return nil }
        let trimmed = field.value.trimmingSpaces
        return trimmed.isEmpty ? nil : trimmed
    }

    /// MARC21 or UNIMARC/CNMARC, decided from the content.
    public var flavour: MARCFlavour { MARCFlavour.detect(self) }

    /// Appends a control field.
    public mutating func appendControlField(_ tag: MARCTag, value: String) {
        appendControlField(tag, bytes: Array(value.utf8))
    }

    public mutating func appendControlField<Bytes: Collection>(_ tag: MARCTag, bytes: Bytes)
    where Bytes.Element == UInt8 {
        let start = storage.count
        storage.append(contentsOf: bytes)
        entries.append(FieldEntry(tag: tag, isControl: true, start: start, end: storage.count))
        knownSubfieldCount = nil
    }

    /// Appends a copy of a field of another record (or of this one), byte for byte.
    public mutating func append(_ field: MARCField) {
        if field.isControlField {
            appendControlField(field.tag, bytes: field.data)
        } else {
            let start = storage.count
            storage.append(contentsOf: field.data)
            entries.append(FieldEntry(tag: field.tag, isControl: false, start: start, end: storage.count))
            knownSubfieldCount = nil
        }
    }

    /// Appends a data field; each subfield code is one byte.
    public mutating func appendDataField(
        _ tag: MARCTag, indicators: (UInt8, UInt8) = (0x20, 0x20), subfields: [(code: UInt8, value: String)]
    ) {
        var builder = DataFieldBuilder(indicators: indicators)
        for subfield in subfields { builder.append(code: subfield.code, value: Array(subfield.value.utf8)) }
        appendDataField(tag, builder: builder)
    }

    package mutating func appendDataField(_ tag: MARCTag, builder: DataFieldBuilder) {
        let start = storage.count
        storage.append(contentsOf: builder.bytes)
        entries.append(FieldEntry(tag: tag, isControl: false, start: start, end: storage.count))
        knownSubfieldCount = nil
    }

    public static func == (lhs: MARCRecord, rhs: MARCRecord) -> Bool {
        guard lhs.leader == rhs.leader, lhs.entries.count == rhs.entries.count else { return false }
        for (left, right) in zip(lhs.fields, rhs.fields) where left != right { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(leader)
        for field in fields { hasher.combine(field) }
    }
}

/// The bytes of one data field under construction: indicators, then subfields each led by `0x1F`.
package struct DataFieldBuilder {
    package private(set) var bytes: [UInt8]

    package init(indicators: (UInt8, UInt8)) {
        bytes = [indicators.0, indicators.1]
    }

    package mutating func append<Value: Collection>(code: UInt8, value: Value) where Value.Element == UInt8 {
        bytes.append(MARCDelimiter.subfield)
        bytes.append(code)
        bytes.append(contentsOf: value)
    }

    /// A code of one UTF-8 character, as danMARC2's `å`.
    package mutating func append<Value: Collection>(code: [UInt8], value: Value) where Value.Element == UInt8 {
        bytes.append(MARCDelimiter.subfield)
        bytes.append(contentsOf: code)
        bytes.append(contentsOf: value)
    }
}

/// Where one field's data lies in a record's buffer, without its terminator.
package struct FieldEntry: Sendable, Hashable {
    package var tag: MARCTag
    package var isControl: Bool
    package var start: Int32
    package var end: Int32

    package init(tag: MARCTag, isControl: Bool, start: Int, end: Int) {
        self.tag = tag
        self.isControl = isControl
        self.start = Int32(truncatingIfNeeded: start)
        self.end = Int32(truncatingIfNeeded: end)
    }

    package var range: Range<Int> { Int(start)..<Int(end) }
}

/// The ISO 2709 structural bytes.
public enum MARCDelimiter {
    public static let subfield: UInt8 = 0x1F
    public static let field: UInt8 = 0x1E
    public static let record: UInt8 = 0x1D
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " { scalars.removeFirst() }
        while let last = scalars.last, last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
