#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses one framed ISO 2709 record, the way yaz does: first the directory is checked (digits, bounds,
/// terminators), then fields are sliced from the base address. Every repair is a diagnostic.
public enum ISO2709Parser {
    /// Parses `bytes` (one record, normally ending in `0x1D`).
    /// - Parameter transcoder: turns a record in MARC-8 or another legacy encoding into UTF-8; nil keeps the
    ///   bytes as they are.
    public static func parse(
        _ bytes: [UInt8], recordNumber: Int = 1, byteOffset: Int64 = 0, framingDiagnostics: [MARCDiagnostic] = [],
        transcoder: MARCTranscoder? = nil
    ) -> MARCReadItem {
        var context = Context(recordNumber: recordNumber, byteOffset: byteOffset, diagnostics: framingDiagnostics)
        var record = bytes.withUnsafeBytes { parse($0, storage: bytes, context: &context) }
        if let transcoder, let parsed = record, parsed.encoding != .ascii,
            parsed.encoding != .utf8 || parsed.leader.characterCoding != UInt8(ascii: "a")
        {
            record = transcoder.transcode(parsed) { severity, code, message in
                context.report(severity, code, message)
            }
        }
        if !context.diagnostics.isEmpty, let record {
            // The 001 as decoded, for every diagnostic of this record.
            let id = record.controlNumber
            for index in context.diagnostics.indices { context.diagnostics[index].controlNumber = id }
        }
        return MARCReadItem(
            record: record, diagnostics: context.diagnostics, recordNumber: recordNumber, byteOffset: byteOffset,
            rawBytes: bytes)
    }

    struct Context {
        let recordNumber: Int
        let byteOffset: Int64
        var diagnostics: [MARCDiagnostic]

        mutating func report(_ severity: MARCDiagnostic.Severity, _ code: MARCDiagnostic.Code, _ message: String) {
            diagnostics.append(
                MARCDiagnostic(severity, code, message, recordNumber: recordNumber, byteOffset: byteOffset))
        }
    }

    private static func parse(_ raw: UnsafeRawBufferPointer, storage: [UInt8], context: inout Context) -> MARCRecord? {
        let count = raw.count
        guard count >= Leader.length else {
            context.report(.error, .truncated, "only \(count) byte(s), too few for a leader")
            return nil
        }
        @inline(__always) func byte(_ index: Int) -> UInt8 { raw[index] }
        @inline(__always) func decimal(_ at: Int, _ digits: Int) -> Int? { Self.decimal(raw, at, digits) }

        var leader = Leader(leaderBytes: raw)
        let contentEnd = byte(count - 1) == MARCDelimiter.record ? count - 1 : count

        // The directory ends at the first field terminator after the leader. The leader's base address wins
        // only when it also follows a terminator on an entry boundary (a terminator byte corrupting an entry).
        guard let firstTerminator = firstIndex(of: MARCDelimiter.field, in: raw, from: Leader.length, to: contentEnd)
        else {
            context.report(.error, .directory, "no directory terminator: the record's fields cannot be found")
            return nil
        }
        var directoryEnd = firstTerminator
        let declaredBase = decimal(12, 5)
        if let declared = declaredBase, declared - 1 != firstTerminator {
            if declared - 1 > firstTerminator, declared <= contentEnd, byte(declared - 1) == MARCDelimiter.field,
                (declared - 1 - Leader.length) % 12 == 0
            {
                directoryEnd = declared - 1
                context.report(.error, .directory, "a field terminator inside the directory at byte \(firstTerminator)")
            } else {
                context.report(
                    .warning, .baseAddress,
                    "leader gives base address \(declared), the directory ends at \(firstTerminator + 1)")
            }
        } else if declaredBase == nil {
            context.report(
                .warning, .baseAddress, "leader gives no base address, the directory ends at \(firstTerminator + 1)")
        }
        let base = directoryEnd + 1
        var directoryStart = Leader.length
        var located = locateExactly(raw, directoryStart: directoryStart, directoryEnd: directoryEnd, base: base, contentEnd: contentEnd)
        if located == nil && (directoryEnd - Leader.length) % 12 != 0 {
            // A leader a byte or two short (or long) shifts every entry; accept the shift only if the whole
            // directory then lands exactly on the field terminators.
            for candidate in [23, 25, 22, 26] where (directoryEnd - candidate) % 12 == 0 && directoryEnd - candidate >= 12 {
                if let exact = locateExactly(raw, directoryStart: candidate, directoryEnd: directoryEnd, base: base, contentEnd: contentEnd) {
                    directoryStart = candidate
                    located = exact
                    context.report(
                        .warning, .leader, "leader is \(candidate) bytes, not 24; the directory was read from byte \(candidate)")
                    break
                }
            }
        }
        let directoryBytes = directoryEnd - directoryStart
        if directoryBytes % 12 != 0 {
            // Something overflowed or went missing in the entries: tags and places after it may be wrong.
            context.report(
                .error, .directory,
                "directory is \(directoryBytes) bytes, not a multiple of 12: entries are damaged, tags or fields may be wrong")
        }
        if decimal(20, 2) != 45 && directoryStart == Leader.length {
            context.report(.warning, .leader, "leader/20-21 should be \"45\"; reading 4-digit lengths, 5-digit starts")
        }
        if directoryStart == Leader.length {
            if let indicators = decimal(10, 1) {
                if indicators == 0 && decimal(11, 1) == 0 {
                    context.report(
                        .warning, .leader, "leader/10-11 declare no indicators and no subfield codes; every field is read as plain data")
                } else if indicators != 2 {
                    context.report(
                        .warning, .leader,
                        "leader/10 declares \(indicators) indicator(s); calisd reads the first two of each field")
                }
            } else {
                context.report(.warning, .leader, "leader/10 is not a digit; two indicators assumed")
            }
            if decimal(11, 1) == nil {
                context.report(.warning, .leader, "leader/11 is not a digit; one-byte subfield codes assumed")
            }
        }
        if directoryStart < Leader.length {
            leader = Leader(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<directoryStart]))
        }
        let spans =
            located
            ?? locateLeniently(
                raw, directoryStart: directoryStart, directoryEnd: directoryEnd, base: base, contentEnd: contentEnd,
                context: &context)

        var entries = spans
        var needsRebuild = false
        var coveredBytes = 0
        // A leader declaring no indicators and no subfield codes (leader/10-11 "00") makes every field plain data.
        let plainFields = directoryStart == Leader.length && byte(10) == 0x30 && byte(11) == 0x30
        for index in entries.indices {
            let span = entries[index].range
            let tag = entries[index].tag
            let isControl: Bool
            if tag.isControlTag || plainFields {
                isControl = true
            } else if tag.isNumeric {
                isControl = false
            } else {
                // Aleph's FMT and similar local tags are control fields when they hold no subfields.
                isControl = firstIndex(of: MARCDelimiter.subfield, in: raw, from: span.lowerBound, to: span.upperBound) == nil
            }
            if !isControl, checkDataField(raw, tag: tag, start: span.lowerBound, end: span.upperBound, context: &context) {
                needsRebuild = true
            }
            entries[index].isControl = isControl
            coveredBytes += span.count + 1
        }
        if entries.isEmpty && !context.diagnostics.contains(where: { $0.severity == .error }) {
            context.report(.error, .directory, "the record has no fields")
        }
        if count > 99_999 && !context.diagnostics.contains(where: { $0.code == .oversize }) {
            context.report(.warning, .oversize, "record is \(count) bytes, over the 99,999 ISO 2709 can declare")
        }

        let scan = ByteScan(raw, from: base, to: contentEnd)
        if scan.adjacentDelimiters {
            context.report(.warning, .subfield, "a subfield delimiter is followed by another, with no code between")
        }
        let encoding = classifyEncoding(raw, scan: scan, leader: leader, from: base, to: contentEnd, context: &context)
        var record = MARCRecord(leader: leader, storage: storage, entries: entries, encoding: encoding)
        if needsRebuild {
            record = rebuildingIndicators(record)
        } else if context.diagnostics.isEmpty && coveredBytes == contentEnd - base
            && !entries.contains(where: { $0.isControl && firstIndex(of: MARCDelimiter.subfield, in: raw, from: $0.range.lowerBound, to: $0.range.upperBound) != nil })
        {
            // The fields tile the data area exactly, so every delimiter in it leads one data-field subfield.
            record.knownSubfieldCount = Int32(scan.delimiterCount)
        }
        return record
    }

    /// Where a field lies; whether it is a control field is decided after it is located.
    private static func span(_ tag: MARCTag, _ start: Int, _ end: Int) -> FieldEntry {
        FieldEntry(tag: tag, isControl: false, start: start, end: end)
    }

    @inline(__always)
    private static func decimal(_ raw: UnsafeRawBufferPointer, _ at: Int, _ digits: Int) -> Int? {
        var value = 0
        for index in at..<(at + digits) {
            let byte = raw[index]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte &- 0x30)
        }
        return value
    }

    /// The directory as declared, when every entry's digits read and every field ends on its terminator.
    private static func locateExactly(
        _ raw: UnsafeRawBufferPointer, directoryStart: Int, directoryEnd: Int, base: Int, contentEnd: Int
    ) -> [FieldEntry]? {
        guard (directoryEnd - directoryStart) % 12 == 0 else { return nil }
        var spans: [FieldEntry] = []
        spans.reserveCapacity((directoryEnd - directoryStart) / 12)
        var at = directoryStart
        while at + 12 <= directoryEnd {
            guard let length = decimal(raw, at + 3, 4), let offset = decimal(raw, at + 7, 5) else { return nil }
            let start = base + offset
            let end = start + length
            guard length >= 1, end <= contentEnd, raw[end - 1] == MARCDelimiter.field else { return nil }
            spans.append(span(MARCTag(raw[at], raw[at + 1], raw[at + 2]), start, end - 1))
            at += 12
        }
        return spans
    }

    /// When the declared layout does not fit the data: first, if the data splits into as many terminated fields
    /// as there are entries, take them in order (lengths counted in characters, not bytes, do this); otherwise
    /// place each field from its entry as well as possible, and say that the field may be wrong.
    private static func locateLeniently(
        _ raw: UnsafeRawBufferPointer, directoryStart: Int, directoryEnd: Int, base: Int, contentEnd: Int,
        context: inout Context
    ) -> [FieldEntry] {
        var tags: [MARCTag] = []
        var at = directoryStart
        while at + 12 <= directoryEnd {
            tags.append(MARCTag(raw[at], raw[at + 1], raw[at + 2]))
            at += 12
        }
        var chunks: [Range<Int>] = []
        var from = base
        while from < contentEnd {
            let end = firstIndex(of: MARCDelimiter.field, in: raw, from: from, to: contentEnd) ?? contentEnd
            chunks.append(from..<end)
            from = end + 1
        }
        if !tags.isEmpty && chunks.count == tags.count {
            context.report(
                .warning, .fieldLength,
                "the directory's lengths and starts do not match the data; \(tags.count) fields were taken in order between their terminators"
            )
            if firstIndex(of: MARCDelimiter.field, in: raw, from: base, to: contentEnd) == nil || raw[contentEnd - 1] != MARCDelimiter.field {
                context.report(.warning, .fieldTerminator, "the last field has no terminator")
            }
            return zip(tags, chunks).map { span($0, $1.lowerBound, $1.upperBound) }
        }
        var spans: [FieldEntry] = []
        var entryNumber = 0
        at = directoryStart
        while at + 12 <= directoryEnd {
            entryNumber += 1
            let tag = tags[entryNumber - 1]
            let length = decimal(raw, at + 3, 4)
            let offset = decimal(raw, at + 7, 5)
            at += 12
            if let length, let offset, length >= 1, base + offset + length <= contentEnd,
                raw[base + offset + length - 1] == MARCDelimiter.field
            {
                spans.append(span(tag, base + offset, base + offset + length - 1))
                continue
            }
            guard let offset, base + offset < contentEnd else {
                context.report(
                    .error, .directoryEntry,
                    "field \(tag) (entry \(entryNumber)): the directory entry does not point into the record; field lost")
                continue
            }
            let start = base + offset
            let end = firstIndex(of: MARCDelimiter.field, in: raw, from: start, to: contentEnd) ?? contentEnd
            let declared = length.map { "length \($0)" } ?? "no readable length"
            context.report(
                .error, .directoryEntry,
                "field \(tag) (entry \(entryNumber)): the directory gives \(declared), the data does not match; the field may be wrong")
            spans.append(span(tag, start, end))
        }
        return spans
    }

    /// Checks a data field's indicators and its ends; true when the field starts with a delimiter (no
    /// indicators), which the record model needs repaired. Delimiters inside are checked in one pass later.
    private static func checkDataField(
        _ raw: UnsafeRawBufferPointer, tag: MARCTag, start: Int, end: Int, context: inout Context
    ) -> Bool {
        let length = end - start
        if length >= 1 && raw[start] == MARCDelimiter.subfield {
            context.report(.warning, .indicators, "field \(tag) has no indicators; blanks assumed")
            return true
        }
        if length < 2 {
            context.report(.warning, .indicators, "field \(tag) is shorter than its two indicators")
            return false
        }
        if length > 2 && raw[start + 2] != MARCDelimiter.subfield {
            context.report(.warning, .subfield, "field \(tag): data after the indicators does not start with a subfield")
        }
        if length > 2 && raw[end - 1] == MARCDelimiter.subfield {
            context.report(.warning, .subfield, "field \(tag) ends with a subfield delimiter and no code")
        }
        return false
    }

    /// Gives indicator-less data fields two blank indicators, so every data field has the same shape.
    private static func rebuildingIndicators(_ record: MARCRecord) -> MARCRecord {
        var rebuilt = MARCRecord(leader: record.leader)
        rebuilt.encoding = record.encoding
        for entry in record.entries {
            var bytes = Array(record.storage[entry.range])
            if !entry.isControl && bytes.first == MARCDelimiter.subfield { bytes.insert(contentsOf: [0x20, 0x20], at: 0) }
            let start = rebuilt.storage.count
            rebuilt.storage.append(contentsOf: bytes)
            rebuilt.entries.append(
                FieldEntry(tag: entry.tag, isControl: entry.isControl, start: start, end: rebuilt.storage.count))
        }
        return rebuilt
    }

    /// What the bytes are, without judging the leader: ASCII, ASCII with MARC-8 escapes, UTF-8, or other
    /// 8-bit bytes. ``MARCTranscoder`` decides the rest.
    private static func classifyEncoding(
        _ raw: UnsafeRawBufferPointer, scan: ByteScan, leader: Leader, from: Int, to: Int, context: inout Context
    ) -> MARCEncoding {
        guard let firstNonASCII = scan.firstNonASCII else { return scan.hasEscape ? .marc8 : .ascii }
        let rest = UnsafeRawBufferPointer(rebasing: raw[firstNonASCII..<to])
        if !scan.hasEscape && UTF8Validation.classify(rest) != .unknown8bit { return .utf8 }
        return .unknown8bit
    }

    @inline(__always)
    static func firstIndex(of byte: UInt8, in raw: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let hit = memchr(raw.baseAddress! + from, Int32(byte), to - from) else { return nil }
        return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
    }
}
