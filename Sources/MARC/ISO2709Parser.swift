#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses one framed ISO 2709 record, the way yaz does: first the directory is checked (digits, bounds,
/// terminators), then fields are sliced from the base address. Every repair is a diagnostic.
public enum ISO2709Parser {
    /// Parses `bytes` (one record, normally ending in `0x1D`).
    public static func parse(
        _ bytes: [UInt8], recordNumber: Int = 1, byteOffset: Int64 = 0, framingDiagnostics: [MARCDiagnostic] = []
    ) -> MARCReadItem {
        var context = Context(recordNumber: recordNumber, byteOffset: byteOffset, diagnostics: framingDiagnostics)
        let record = bytes.withUnsafeBytes { parse($0, storage: bytes, context: &context) }
        if !context.diagnostics.isEmpty, let record {
            let id = record.controlNumber
            for index in context.diagnostics.indices where context.diagnostics[index].controlNumber == nil {
                context.diagnostics[index].controlNumber = id
            }
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
        func decimal(_ at: Int, _ digits: Int) -> Int? {
            var value = 0
            for index in at..<(at + digits) {
                let b = raw[index]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                value = value * 10 + Int(b &- 0x30)
            }
            return value
        }

        var leader = Leader(leaderBytes: raw)
        let contentEnd = byte(count - 1) == MARCDelimiter.record ? count - 1 : count

        // The directory ends at the first field terminator after the leader.
        var directoryEnd: Int
        let declaredBase = decimal(12, 5)
        if let base = declaredBase, base > Leader.length, base <= contentEnd, byte(base - 1) == MARCDelimiter.field {
            directoryEnd = base - 1
        } else {
            guard let terminator = firstIndex(of: MARCDelimiter.field, in: raw, from: Leader.length, to: contentEnd)
            else {
                context.report(.error, .directory, "no directory terminator: the record's fields cannot be found")
                return nil
            }
            directoryEnd = terminator
            let given = declaredBase.map { "\($0)" } ?? "no number"
            context.report(
                .warning, .baseAddress, "leader gives base address \(given), the directory ends at \(terminator + 1)")
        }
        let base = directoryEnd + 1
        // A leader a byte or two short (or long) shifts every directory entry; whole entries tell where it starts.
        var directoryStart = Leader.length
        if (directoryEnd - directoryStart) % 12 != 0 {
            for candidate in [23, 25, 22, 26] where (directoryEnd - candidate) % 12 == 0 && directoryEnd - candidate >= 12 {
                if decimal(candidate + 3, 4) != nil && decimal(candidate + 7, 5) == 0 {
                    directoryStart = candidate
                    context.report(
                        .warning, .leader,
                        "leader is \(candidate) bytes, not 24; the directory was read from byte \(candidate)")
                    break
                }
            }
        }
        let directoryBytes = directoryEnd - directoryStart
        if directoryBytes % 12 != 0 {
            context.report(
                .warning, .directory, "directory is \(directoryBytes) bytes, not a multiple of 12; the rest is ignored")
        }
        if decimal(20, 2) != 45 && directoryStart == Leader.length {
            context.report(.warning, .leader, "leader/20-21 should be \"45\"; reading 4-digit lengths, 5-digit starts")
        }
        if directoryStart == Leader.length {
            if let indicators = decimal(10, 1) {
                if indicators != 2 {
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

        var entries: [FieldEntry] = []
        entries.reserveCapacity(directoryBytes / 12)
        if directoryStart < Leader.length {
            leader = Leader(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<directoryStart]))
        }
        var entryAt = directoryStart
        var entryNumber = 0
        var coveredBytes = 0
        var needsRebuild = false
        while entryAt + 12 <= directoryEnd {
            entryNumber += 1
            let tag = MARCTag(byte(entryAt), byte(entryAt + 1), byte(entryAt + 2))
            let length = decimal(entryAt + 3, 4)
            let offset = decimal(entryAt + 7, 5)
            entryAt += 12

            var fieldStart = -1
            var fieldEnd = -1
            if let length, let offset {
                let start = base + offset
                let end = start + length
                if length >= 1 && end <= contentEnd && byte(end - 1) == MARCDelimiter.field {
                    fieldStart = start
                    fieldEnd = end - 1
                } else if start < contentEnd {
                    fieldStart = start
                    fieldEnd = firstIndex(of: MARCDelimiter.field, in: raw, from: start, to: contentEnd) ?? contentEnd
                    if fieldEnd == contentEnd {
                        context.report(.warning, .fieldTerminator, "field \(tag) (entry \(entryNumber)) has no terminator")
                    } else {
                        context.report(
                            .warning, .fieldLength,
                            "field \(tag) (entry \(entryNumber)): directory gives length \(length), the field's terminator comes after \(fieldEnd + 1 - start)"
                        )
                    }
                }
            } else if let offset, base + offset < contentEnd {
                // Unreadable length, readable start: the field terminator tells the length.
                fieldStart = base + offset
                fieldEnd = firstIndex(of: MARCDelimiter.field, in: raw, from: fieldStart, to: contentEnd) ?? contentEnd
                context.report(
                    .warning, .directoryEntry,
                    "field \(tag) (entry \(entryNumber)): length is not a number; taken from the field terminator")
            }
            guard fieldStart >= 0 else {
                context.report(
                    .error, .directoryEntry,
                    "field \(tag) (entry \(entryNumber)): the directory entry does not point into the record; field lost"
                )
                continue
            }

            let isControl: Bool
            if tag.isControlTag {
                isControl = true
            } else if tag.isNumeric {
                isControl = false
            } else {
                // Aleph's FMT and similar local tags are control fields when they hold no subfields.
                isControl =
                    firstIndex(of: MARCDelimiter.subfield, in: raw, from: fieldStart, to: fieldEnd) == nil
            }
            if !isControl {
                if checkDataField(raw, tag: tag, start: fieldStart, end: fieldEnd, context: &context) {
                    needsRebuild = true
                }
            }
            entries.append(FieldEntry(tag: tag, isControl: isControl, start: fieldStart, end: fieldEnd))
            coveredBytes += fieldEnd - fieldStart + 1
        }
        if directoryBytes >= 12 && entries.isEmpty && entryNumber == 0 {
            context.report(.error, .directory, "directory holds no entries")
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

    private static func classifyEncoding(
        _ raw: UnsafeRawBufferPointer, scan: ByteScan, leader: Leader, from: Int, to: Int, context: inout Context
    ) -> MARCEncoding {
        guard let firstNonASCII = scan.firstNonASCII else { return scan.hasEscape ? .marc8 : .ascii }
        let rest = UnsafeRawBufferPointer(rebasing: raw[firstNonASCII..<to])
        if UTF8Validation.classify(rest) != .unknown8bit { return .utf8 }
        if leader.characterCoding == UInt8(ascii: "a") {
            context.report(.warning, .encoding, "leader/09 declares UTF-8 but the bytes are not valid UTF-8")
            return .unknown8bit
        }
        return leader.characterCoding == 0x20 ? .marc8 : .unknown8bit
    }

    @inline(__always)
    static func firstIndex(of byte: UInt8, in raw: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let hit = memchr(raw.baseAddress! + from, Int32(byte), to - from) else { return nil }
        return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
    }
}
