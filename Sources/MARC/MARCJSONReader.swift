/// Reads MARC-in-JSON (the code4lib form): one object, an array of objects, or one object per line.
///
/// Values are framed one at a time from the stream, so a large array is never held whole. A value that is not
/// valid JSON, or not a MARC record, is reported and the reader carries on with the next one.
public final class MARCJSONReader: MARCRecordReader {
    private let window: InputWindow
    private var recordNumber = 0
    private var mode = Mode.start
    private var finished = false

    private enum Mode { case start, array, sequence }

    /// - Parameter bufferSize: how much to read at a time; the window grows past it for larger records.
    public init(source: any ByteSource, bufferSize: Int = 1 << 20) {
        window = InputWindow(source: source, capacity: max(bufferSize, 4096))
    }

    public func next() throws -> MARCReadItem? {
        while !finished {
            try skipSeparators()
            if window.available == 0 {
                finished = true
                if mode == .array { return failure(.truncated, "the JSON array is not closed", at: window.offset) }
                if let error = window.containerError {
                    window.containerError = nil
                    return failure(.gzip, error.message, at: error.byteOffset ?? window.offset)
                }
                return nil
            }
            let byte = window.byte(at: window.start)
            if mode == .start {
                if byte == UInt8(ascii: "[") {
                    window.consume(1)
                    mode = .array
                    continue
                }
                mode = .sequence
            }
            if mode == .array && byte == UInt8(ascii: "]") {
                window.consume(1)
                mode = .sequence
                continue
            }
            return try nextValue()
        }
        return nil
    }

    /// Skips whitespace, a BOM, and the commas between array elements.
    private func skipSeparators() throws {
        while true {
            if window.available == 0 {
                guard try window.readMore() else { return }
            }
            let byte = window.byte(at: window.start)
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                window.consume(1)
            case UInt8(ascii: ",") where mode == .array:
                window.consume(1)
            case 0xEF:
                guard try window.require(3), window.byte(at: window.start + 1) == 0xBB,
                    window.byte(at: window.start + 2) == 0xBF
                else { return }
                window.consume(3)
            default:
                return
            }
        }
    }

    private func nextValue() throws -> MARCReadItem {
        let offset = window.offset
        guard let length = try frameValue() else {
            let rest = window.available
            window.consume(rest)
            finished = true
            return failure(.truncated, "the input ends inside a JSON value", at: offset)
        }
        let start = window.start
        let parsed: Result<JSONValue, JSONSyntaxError>
        do {
            parsed = .success(try JSONParser.parse(UnsafeRawBufferPointer(start: window.base + start, count: length)))
        } catch {
            parsed = .failure(error)
        }
        window.consume(length)
        switch parsed {
        case .success(let value):
            recordNumber += 1
            return MARCJSONRecordBuilder.build(value, recordNumber: recordNumber, byteOffset: offset)
        case .failure(let error):
            return failure(.json, "invalid JSON: \(error.message) (at byte \(offset + Int64(error.offset)))", at: offset)
        }
    }

    private func failure(_ code: MARCDiagnostic.Code, _ message: String, at offset: Int64) -> MARCReadItem {
        recordNumber += 1
        return MARCReadItem(
            record: nil,
            diagnostics: [MARCDiagnostic(.error, code, message, recordNumber: recordNumber, byteOffset: offset)],
            recordNumber: recordNumber, byteOffset: offset)
    }

    /// The length of the JSON value at the window's start, found by matching brackets outside strings;
    /// nil when the input ends first. A value that does not open a bracket runs to the next separator.
    private func frameValue() throws -> Int? {
        var relative = 0
        var depth = 0
        var inString = false
        var escaped = false
        while true {
            if relative >= window.available {
                if relative >= ISO2709Reader.maximumRecordBytes { return relative }
                guard try window.readMore(wanting: relative + 1) else {
                    return depth == 0 && !inString && relative > 0 ? relative : nil
                }
                continue
            }
            let byte = window.byte(at: window.start + relative)
            relative += 1
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 { return relative }
            case UInt8(ascii: ","):
                if depth == 0 { return max(relative - 1, 1) }
            case 0x0A:
                if depth == 0 { return max(relative - 1, 1) }
                // One object per line: an unclosed value followed by a line that opens a new object at its
                // very start is broken; end it here so the next record is still read. Pretty-printed JSON
                // indents nested objects, so it never has `{` at the start of an inner line.
                if try window.require(relative + 1), window.byte(at: window.start + relative) == UInt8(ascii: "{") {
                    return relative - 1
                }
            default:
                break
            }
        }
    }
}

/// Turns one parsed MARC-in-JSON object into a record, reporting what does not fit the form.
enum MARCJSONRecordBuilder {
    static func build(_ value: JSONValue, recordNumber: Int, byteOffset: Int64) -> MARCReadItem {
        var diagnostics: [MARCDiagnostic] = []
        func report(_ severity: MARCDiagnostic.Severity, _ code: MARCDiagnostic.Code, _ message: String) {
            diagnostics.append(
                MARCDiagnostic(severity, code, message, recordNumber: recordNumber, byteOffset: byteOffset))
        }
        guard case .object(let members) = value else {
            report(.error, .json, "a MARC-in-JSON record is an object, not a \(value.typeName)")
            return MARCReadItem(
                record: nil, diagnostics: diagnostics, recordNumber: recordNumber, byteOffset: byteOffset)
        }
        var record = MARCRecord()
        var sawLeader = false
        var sawFields = false
        for member in members {
            if member.key == Array("leader".utf8) {
                guard case .string(let leader) = member.value else {
                    report(.error, .leader, "\"leader\" is a \(member.value.typeName), not a string")
                    continue
                }
                if leader.count != Leader.length {
                    report(.warning, .leader, "leader is \(leader.count) characters, not 24")
                }
                record.leader = Leader(bytes: leader)
                sawLeader = true
            } else if member.key == Array("fields".utf8) {
                sawFields = true
                guard case .array(let fields) = member.value else {
                    report(.error, .json, "\"fields\" is a \(member.value.typeName), not an array")
                    continue
                }
                for field in fields { append(field, to: &record, report: report) }
            }
        }
        if !sawLeader && !sawFields {
            report(.error, .json, "the object has neither \"leader\" nor \"fields\": not a MARC-in-JSON record")
            return MARCReadItem(
                record: nil, diagnostics: diagnostics, recordNumber: recordNumber, byteOffset: byteOffset)
        }
        if !sawLeader {
            report(.warning, .leader, "the record has no leader; a blank one is assumed")
            record.leader = Leader("     nam a22     uu 4500")
        }
        if !sawFields { report(.warning, .json, "the record has no \"fields\"") }
        record.encoding = UTF8Validation.classify(record.storage)
        MARCTranscoder.alignUnicodeLeader(&record, report: report)
        let id = record.controlNumber
        for index in diagnostics.indices { diagnostics[index].controlNumber = id }
        return MARCReadItem(record: record, diagnostics: diagnostics, recordNumber: recordNumber, byteOffset: byteOffset)
    }

    private static func append(
        _ field: JSONValue, to record: inout MARCRecord,
        report: (MARCDiagnostic.Severity, MARCDiagnostic.Code, String) -> Void
    ) {
        guard case .object(let members) = field, members.count == 1, let member = members.first else {
            report(.error, .json, "a field is not an object with one tag; field lost")
            return
        }
        guard member.key.count == 3 else {
            report(.error, .tag, "tag \"\(String(decoding: member.key, as: UTF8.self))\" is not three characters; field lost")
            return
        }
        let tag = MARCTag(member.key[0], member.key[1], member.key[2])
        switch member.value {
        case .string(let value):
            record.appendControlField(tag, bytes: clean(value, tag: tag, report: report))
        case .object(let parts):
            var ind1: UInt8 = 0x20
            var ind2: UInt8 = 0x20
            var subfields: [([UInt8], [UInt8])] = []
            for part in parts {
                switch part.key {
                case Array("ind1".utf8): ind1 = indicator(part.value, tag: tag, report: report)
                case Array("ind2".utf8): ind2 = indicator(part.value, tag: tag, report: report)
                case Array("subfields".utf8):
                    guard case .array(let list) = part.value else {
                        report(.error, .subfield, "field \(tag): \"subfields\" is not an array; subfields lost")
                        continue
                    }
                    for entry in list {
                        guard case .object(let pairs) = entry else {
                            report(.error, .subfield, "field \(tag): a subfield is not an object; subfield lost")
                            continue
                        }
                        for pair in pairs {
                            guard isOneCharacterCode(pair.key), case .string(let value) = pair.value else {
                                report(.error, .subfield, "field \(tag): a subfield needs a one-character code and a string; subfield lost")
                                continue
                            }
                            subfields.append((pair.key, clean(value, tag: tag, report: report)))
                        }
                    }
                default:
                    break
                }
            }
            var builder = DataFieldBuilder(indicators: (ind1, ind2))
            for (code, value) in subfields { builder.append(code: code, value: value) }
            record.appendDataField(tag, builder: builder)
        default:
            report(.error, .json, "field \(tag) is a \(member.value.typeName); field lost")
        }
    }

    private static func indicator(
        _ value: JSONValue, tag: MARCTag, report: (MARCDiagnostic.Severity, MARCDiagnostic.Code, String) -> Void
    ) -> UInt8 {
        guard case .string(let bytes) = value, let first = bytes.first else {
            report(.warning, .indicators, "field \(tag) has an indicator that is not a one-character string; blank assumed")
            return 0x20
        }
        if bytes.count != 1 { report(.warning, .indicators, "field \(tag) has an indicator of \(bytes.count) characters") }
        return first
    }

    /// MARC delimiters inside a value would split it; they are removed and reported.
    private static func clean(
        _ value: [UInt8], tag: MARCTag, report: (MARCDiagnostic.Severity, MARCDiagnostic.Code, String) -> Void
    ) -> [UInt8] {
        guard value.contains(where: { $0 == 0x1D || $0 == 0x1E || $0 == 0x1F }) else { return value }
        report(.error, .subfield, "field \(tag) holds a MARC delimiter character inside a value; it was removed")
        return value.filter { $0 != 0x1D && $0 != 0x1E && $0 != 0x1F }
    }
}
