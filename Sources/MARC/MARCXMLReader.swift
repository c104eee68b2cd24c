#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibXML2

/// Reads MARCXML with libxml2's pull parser, a record at a time.
///
/// Accepts the MARC21 slim namespace or none (MarcXchange too), a `<collection>` or a bare `<record>`, MARC
/// records wrapped in SRU or OAI-PMH responses, and a BOM. A document that ends early or is not well-formed
/// yields the records completed before the fault, then an error diagnostic.
public final class MARCXMLReader: MARCRecordReader {
    private let input: XMLInput
    private var reader: xmlTextReaderPtr?
    private var open: [RecordBuilder] = []
    private var element = ElementState.none
    private var text: [UInt8] = []
    private var recordNumber = 0
    private var finished = false
    private var pending: [MARCReadItem] = []

    public init(source: any ByteSource) {
        calisd_xml_silence_generic_errors()
        input = XMLInput(source: source)
        let context = Unmanaged.passUnretained(input).toOpaque()
        reader = xmlReaderForIO(
            { context, buffer, length in
                guard let context, let buffer else { return -1 }
                return Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue().read(into: buffer, length: length)
            },
            { _ in 0 }, context, nil, nil, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue))
        if let reader {
            xmlTextReaderSetStructuredErrorHandler(
                reader,
                { context, error in
                    guard let context, let error else { return }
                    Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue().record(error.pointee)
                }, context)
        }
    }

    deinit {
        if let reader { xmlFreeTextReader(reader) }
    }

    public func next() throws -> MARCReadItem? {
        while pending.isEmpty && !finished {
            try step()
        }
        return pending.isEmpty ? nil : pending.removeFirst()
    }

    private enum ElementState {
        case none
        case leader
        case controlField(MARCTag?)
        case dataField
        case subfield([UInt8]?)
    }

    private final class RecordBuilder {
        var record = MARCRecord()
        var sawLeader = false
        var sawContent = false
        var field: DataFieldBuilder?
        var fieldTag: MARCTag?
        var diagnostics: [(MARCDiagnostic.Severity, MARCDiagnostic.Code, String)] = []
        let byteOffset: Int64

        init(byteOffset: Int64) { self.byteOffset = byteOffset }

        func report(_ severity: MARCDiagnostic.Severity, _ code: MARCDiagnostic.Code, _ message: String) {
            diagnostics.append((severity, code, message))
        }
    }

    private func step() throws {
        guard let reader else {
            finish(error: "the XML reader could not be created")
            return
        }
        let status = xmlTextReaderRead(reader)
        if let error = input.sourceError {
            input.sourceError = nil
            if error.code != .corrupt { throw error }
            finish(error: error.message)
            return
        }
        if status == 0 {
            if !open.isEmpty {
                finish(error: "the document ends inside a record")
            } else {
                finished = true
            }
            return
        }
        if status < 0 {
            finish(error: input.firstError ?? "the XML is not well-formed")
            return
        }
        let type = xmlTextReaderNodeType(reader)
        switch type {
        case 1:  // element start
            startElement(reader)
            if xmlTextReaderIsEmptyElement(reader) == 1 { endElement(reader) }
        case 15:  // element end
            endElement(reader)
        case 3, 4, 13, 14:  // text, CDATA, whitespace
            switch element {
            case .leader, .controlField, .subfield:
                if let value = xmlTextReaderConstValue(reader) {
                    text.append(contentsOf: UnsafeBufferPointer(start: value, count: byteLength(value)))
                }
            case .dataField, .none:
                break
            }
        default:
            break
        }
    }

    private func startElement(_ reader: xmlTextReaderPtr) {
        guard let name = localName(reader) else { return }
        switch name {
        case .record:
            open.append(RecordBuilder(byteOffset: Int64(xmlTextReaderByteConsumed(reader))))
        case .leader:
            guard let builder = open.last else { return }
            builder.sawContent = true
            element = .leader
            text.removeAll(keepingCapacity: true)
        case .controlfield:
            guard let builder = open.last else { return }
            builder.sawContent = true
            let tag = attribute(reader, "tag")
            element = .controlField(tag.flatMap { parseTag($0, builder: builder, kind: "controlfield") })
            if tag == nil { builder.report(.error, .tag, "a controlfield has no tag attribute; field lost") }
            text.removeAll(keepingCapacity: true)
        case .datafield:
            guard let builder = open.last else { return }
            builder.sawContent = true
            element = .dataField
            let tag = attribute(reader, "tag")
            builder.fieldTag = tag.flatMap { parseTag($0, builder: builder, kind: "datafield") }
            if tag == nil { builder.report(.error, .tag, "a datafield has no tag attribute; field lost") }
            let label = builder.fieldTag?.string ?? "?"
            let ind1 = indicator(attribute(reader, "ind1"), builder: builder, label: label, which: 1)
            let ind2 = indicator(attribute(reader, "ind2"), builder: builder, label: label, which: 2)
            builder.field = DataFieldBuilder(indicators: (ind1, ind2))
        case .subfield:
            guard let builder = open.last, case .dataField = element else { return }
            let code = attribute(reader, "code") ?? []
            let label = builder.fieldTag?.string ?? "?"
            if isOneCharacterCode(code) {
                element = .subfield(code)
            } else {
                builder.report(.error, .subfield, "field \(label) has a subfield without a one-character code; subfield lost")
                element = .subfield(nil)
            }
            text.removeAll(keepingCapacity: true)
        }
    }

    private func endElement(_ reader: xmlTextReaderPtr) {
        guard let name = localName(reader) else { return }
        switch name {
        case .record:
            guard let builder = open.popLast() else { return }
            element = .none
            if builder.sawContent { emit(builder) }
        case .leader:
            guard let builder = open.last, case .leader = element else { return }
            if text.count != Leader.length {
                builder.report(.warning, .leader, "leader is \(text.count) characters, not 24")
            }
            builder.record.leader = Leader(bytes: text)
            builder.sawLeader = true
            element = .none
        case .controlfield:
            guard let builder = open.last, case .controlField(let tag) = element else { return }
            if let tag { builder.record.appendControlField(tag, bytes: text) }
            element = .none
        case .datafield:
            guard let builder = open.last, case .dataField = element else { return }
            if let tag = builder.fieldTag, let field = builder.field {
                builder.record.appendDataField(tag, builder: field)
            }
            builder.field = nil
            builder.fieldTag = nil
            element = .none
        case .subfield:
            guard let builder = open.last, case .subfield(let code) = element else { return }
            if let code { builder.field?.append(code: code, value: text) }
            element = .dataField
        }
    }

    private func emit(_ builder: RecordBuilder) {
        recordNumber += 1
        var record = builder.record
        if !builder.sawLeader {
            builder.report(.warning, .leader, "the record has no leader; a blank one is assumed")
            record.leader = Leader("     nam a22     uu 4500")
        }
        record.encoding = UTF8Validation.classify(record.storage)
        MARCTranscoder.alignUnicodeLeader(&record) { builder.report($0, $1, $2) }
        let id = record.controlNumber
        let diagnostics = builder.diagnostics.map {
            MARCDiagnostic(
                $0.0, $0.1, $0.2, recordNumber: recordNumber, byteOffset: builder.byteOffset, controlNumber: id)
        }
        pending.append(
            MARCReadItem(
                record: record, diagnostics: diagnostics, recordNumber: recordNumber, byteOffset: builder.byteOffset))
    }

    /// Ends the stream with an error. A record cut off by the fault is yielded as far as it was read, with the
    /// error; records completed before the fault have already been yielded.
    private func finish(error message: String) {
        finished = true
        let offset = reader.map { Int64(max(0, xmlTextReaderByteConsumed($0))) } ?? 0
        let line = input.firstErrorLine.map { " (line \($0))" } ?? ""
        if let builder = open.last(where: { $0.sawContent }) {
            // Past the end of the real input, libxml2 complains about the added wrapper; say what happened.
            let message = input.sourceEnded ? "the document ends inside a record" : message
            if let tag = builder.fieldTag, let field = builder.field {
                builder.record.appendDataField(tag, builder: field)
            }
            builder.report(
                .error, input.sourceEnded ? .truncated : .xml, "\(message)\(line); the record is incomplete")
            emit(builder)
        } else {
            recordNumber += 1
            pending.append(
                MARCReadItem(
                    record: nil,
                    diagnostics: [
                        MARCDiagnostic(.error, .xml, "\(message)\(line)", recordNumber: recordNumber, byteOffset: offset)
                    ], recordNumber: recordNumber, byteOffset: offset))
        }
        open.removeAll()
    }

    private enum Name { case record, leader, controlfield, datafield, subfield }

    private func localName(_ reader: xmlTextReaderPtr) -> Name? {
        guard let name = xmlTextReaderConstLocalName(reader) else { return nil }
        return name.withMemoryRebound(to: CChar.self, capacity: 1) { name in
            switch UInt8(bitPattern: name[0]) {
            case UInt8(ascii: "r") where strcmp(name, "record") == 0: return .record
            case UInt8(ascii: "l") where strcmp(name, "leader") == 0: return .leader
            case UInt8(ascii: "c") where strcmp(name, "controlfield") == 0: return .controlfield
            case UInt8(ascii: "d") where strcmp(name, "datafield") == 0: return .datafield
            case UInt8(ascii: "s") where strcmp(name, "subfield") == 0: return .subfield
            default: return nil
            }
        }
    }

    private func attribute(_ reader: xmlTextReaderPtr, _ wanted: String) -> [UInt8]? {
        var found: [UInt8]?
        guard xmlTextReaderMoveToFirstAttribute(reader) == 1 else { return nil }
        repeat {
            if let name = xmlTextReaderConstLocalName(reader),
                name.withMemoryRebound(to: CChar.self, capacity: 1, { strcmp($0, wanted) }) == 0,
                let value = xmlTextReaderConstValue(reader)
            {
                found = Array(UnsafeBufferPointer(start: value, count: byteLength(value)))
                break
            }
        } while xmlTextReaderMoveToNextAttribute(reader) == 1
        xmlTextReaderMoveToElement(reader)
        return found
    }

    private func parseTag(_ bytes: [UInt8], builder: RecordBuilder, kind: String) -> MARCTag? {
        guard bytes.count == 3 else {
            builder.report(
                .error, .tag, "a \(kind) tag \"\(String(decoding: bytes, as: UTF8.self))\" is not three characters; field lost")
            return nil
        }
        return MARCTag(bytes[0], bytes[1], bytes[2])
    }

    private func indicator(_ bytes: [UInt8]?, builder: RecordBuilder, label: String, which: Int) -> UInt8 {
        guard let bytes else {
            builder.report(.warning, .indicators, "field \(label) has no ind\(which) attribute; blank assumed")
            return 0x20
        }
        if bytes.count == 1 { return bytes[0] }
        builder.report(.warning, .indicators, "field \(label) ind\(which) is \(bytes.count) characters, not 1")
        return bytes.first ?? 0x20
    }
}

private func byteLength(_ string: UnsafePointer<xmlChar>) -> Int {
    string.withMemoryRebound(to: CChar.self, capacity: 1) { strlen($0) }
}

/// A subfield code is one printable ASCII byte, or one UTF-8 character (danMARC2 uses `å`).
func isOneCharacterCode(_ code: [UInt8]) -> Bool {
    guard let first = code.first else { return false }
    if code.count == 1 { return first >= 0x20 && first < 0x7F }
    guard code.count <= 4, first >= 0xC2 else { return false }
    return code.withUnsafeBufferPointer { subfieldCodeLength($0, at: 0, end: code.count) == code.count }
}
