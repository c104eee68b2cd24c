#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibXML2

/// Reads MARCXML with libxml2's SAX2 push parser, a chunk of input at a time, yielding each record as it closes.
///
/// Accepts the MARC21 slim namespace or none (MarcXchange too), a `<collection>` or a bare `<record>`, MARC
/// records wrapped in SRU or OAI-PMH responses, and a BOM. A document that ends early or is not well-formed
/// yields the records completed before the fault, then an error diagnostic.
public final class MARCXMLReader: MARCRecordReader {
    /// Enough input a call to amortise libxml2's per-call work; records are yielded as they close, so memory
    /// holds at most one chunk's records.
    static let chunkSize = 256 * 1024

    private let input: XMLInput
    // Only the push parser (`next()`) needs it; `forEach` reads through the input's read-ahead.
    private lazy var chunk = [CChar](repeating: 0, count: MARCXMLReader.chunkSize)
    /// The callbacks' state sits behind a pointer of its own: reaching it costs no reference count and no
    /// exclusivity check, which on this path (several callbacks a field) would cost more than the parsing.
    private let state: UnsafeMutablePointer<XMLParseState>
    private var pendingStart = 0

    public init(source: any ByteSource) {
        calisd_xml_silence_generic_errors()
        input = XMLInput(source: source)
        state = .allocate(capacity: 1)
        state.initialize(to: XMLParseState())
    }

    deinit {
        if let parser = state.pointee.parser { xmlFreeParserCtxt(parser) }
        state.deinitialize(count: 1)
        state.deallocate()
    }

    public func next() throws -> MARCReadItem? {
        while pendingStart == state.pointee.pending.count && !state.pointee.finished {
            state.pointee.pending.removeAll(keepingCapacity: true)
            pendingStart = 0
            try feed()
        }
        guard pendingStart < state.pointee.pending.count else { return nil }
        defer { pendingStart += 1 }
        return state.pointee.pending[pendingStart]
    }

    /// Reads the rest of the input as one document, handing each record to `body` as it closes.
    ///
    /// libxml2 then pulls the input itself rather than being pushed a chunk at a time, which spares the push
    /// parser's bookkeeping, about a tenth of the reading time. The records and diagnostics are those `next()`
    /// gives. An error `body` throws stops the parse and is rethrown.
    public func forEach(_ body: (MARCReadItem) throws -> Void) throws {
        guard state.pointee.parser == nil, !state.pointee.finished else {
            while let item = try next() { try body(item) }
            return
        }
        try withoutActuallyEscaping(body) { body in
            state.pointee.deliver = body
            defer { state.pointee.deliver = nil }
            try parseWhole()
        }
    }

    private func parseWhole() throws {
        // Whatever happens, this parser is done: next() must not push input to it.
        defer { state.pointee.finished = true }
        var handler = Self.handler()
        let read: xmlInputReadCallback = { context, buffer, length in
            guard let context, let buffer else { return -1 }
            return Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue().readBuffered(into: buffer, length: length)
        }
        let parser = xmlCreateIOParserCtxt(
            &handler, state, read, nil, Unmanaged.passUnretained(input).toOpaque(), XML_CHAR_ENCODING_NONE)
        state.pointee.parser = parser
        if let parser {
            xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue))
            xmlParseDocument(parser)
        }
        if let error = state.pointee.deliveryError { throw error }
        if parser == nil {
            state.pointee.finish(error: "the XML parser could not be created", sourceEnded: input.sourceEnded)
        } else if let error = input.sourceError {
            input.sourceError = nil
            if error.code != .corrupt { throw error }
            state.pointee.finish(error: error.message, sourceEnded: input.sourceEnded)
        } else if parser?.pointee.wellFormed == 0 {
            state.pointee.finish(
                error: state.pointee.firstError ?? "the XML is not well-formed",
                sourceEnded: state.pointee.faultIsAtEnd(of: input))
        } else if state.pointee.isReadingRecord {
            state.pointee.finish(error: "the document ends inside a record", sourceEnded: true)
        }
        if let error = state.pointee.deliveryError { throw error }
    }

    /// Hands libxml2 the next chunk of input (or the end of it); its callbacks build and queue the records.
    private func feed() throws {
        let count = chunk.withUnsafeMutableBufferPointer { input.read(into: $0.baseAddress!, length: Int32($0.count)) }
        if let error = input.sourceError {
            input.sourceError = nil
            if error.code != .corrupt { throw error }
            state.pointee.finish(error: error.message, sourceEnded: input.sourceEnded)
            return
        }
        guard let parser = state.pointee.parser ?? makeParser() else {
            state.pointee.finish(error: "the XML parser could not be created", sourceEnded: input.sourceEnded)
            return
        }
        let status = chunk.withUnsafeBufferPointer { xmlParseChunk(parser, $0.baseAddress, max(0, count), count <= 0 ? 1 : 0) }
        if status != 0 || parser.pointee.wellFormed == 0 {
            state.pointee.finish(
                error: state.pointee.firstError ?? "the XML is not well-formed",
                sourceEnded: state.pointee.faultIsAtEnd(of: input))
        } else if count <= 0 {
            if !state.pointee.isReadingRecord {
                state.pointee.finished = true
            } else {
                state.pointee.finish(error: "the document ends inside a record", sourceEnded: true)
            }
        }
    }

    private func makeParser() -> xmlParserCtxtPtr? {
        var handler = Self.handler()
        let parser = xmlCreatePushParserCtxt(&handler, state, nil, 0, nil)
        if let parser { xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue)) }
        state.pointee.parser = parser
        return parser
    }

    private static func handler() -> xmlSAXHandler {
        // Only these callbacks: libxml2's own SAX2 handlers take the parser as their context, not this state, and
        // would build a tree. So no DTD is kept, and an entity it declares is an error.
        var handler = xmlSAXHandler()
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = { context, localName, _, _, _, _, attributeCount, _, attributes in
            guard let context, let localName else { return }
            context.assumingMemoryBound(to: XMLParseState.self).pointee.startElement(
                localName, XMLAttributes(count: Int(attributeCount), values: attributes))
        }
        handler.endElementNs = { context, localName, _, _ in
            guard let context, let localName else { return }
            context.assumingMemoryBound(to: XMLParseState.self).pointee.endElement(localName)
        }
        let characters: charactersSAXFunc = { context, bytes, length in
            guard let context, let bytes, length > 0 else { return }
            context.assumingMemoryBound(to: XMLParseState.self).pointee.characters(bytes, Int(length))
        }
        handler.characters = characters
        handler.ignorableWhitespace = characters
        handler.cdataBlock = characters
        handler.serror = { context, error in
            guard let context, let error else { return }
            context.assumingMemoryBound(to: XMLParseState.self).pointee.record(error.pointee)
        }
        return handler
    }
}

/// SAX2's attributes: five pointers each (local name, prefix, URI, value start, value end).
private struct XMLAttributes {
    let count: Int
    let values: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?

    func value(_ wanted: inout InternedName) -> UnsafeBufferPointer<UInt8>? {
        for index in 0..<count {
            guard let (name, value) = self[index] else { continue }
            if wanted.matches(name) { return value }
        }
        return nil
    }

    /// The attribute's local name and value.
    subscript(index: Int) -> (UnsafePointer<xmlChar>, UnsafeBufferPointer<UInt8>)? {
        guard let values else { return nil }
        let base = index * 5
        guard let name = values[base], let start = values[base + 3], let end = values[base + 4] else { return nil }
        return (name, UnsafeBufferPointer(start: start, count: end - start))
    }
}

/// A name libxml2 hands over from its parser's dictionary, where each name is kept once: once this one has been
/// seen, the address alone says whether a name is it.
private struct InternedName {
    let text: StaticString
    var seenAt: UnsafePointer<xmlChar>?

    init(_ text: StaticString) { self.text = text }

    mutating func matches(_ name: UnsafePointer<xmlChar>) -> Bool {
        if let seenAt { return name == seenAt }
        let equal = strcmp(
            UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self),
            UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)) == 0
        if equal { seenAt = name }
        return equal
    }
}

private struct XMLParseState {
    var parser: xmlParserCtxtPtr?
    /// The record being read, while `isReadingRecord`. An SRU or OAI-PMH wrapper element is also named record, so
    /// `enclosing` keeps the records this one sits inside, innermost last.
    var current = RecordBuilder(byteOffset: 0)
    var isReadingRecord = false
    var enclosing: [RecordBuilder] = []
    /// The storage a record starts with, from the last one's size: most records then never grow theirs.
    var expectedSize = 0
    var element = ElementState.none
    /// The leader's text; a field's bytes go straight into its record.
    var text: [UInt8] = []
    var recordNumber = 0
    var finished = false
    var pending: [MARCReadItem] = []
    /// Where records go as they close when the reader is driven by `forEach`, instead of `pending`.
    var deliver: ((MARCReadItem) throws -> Void)?
    /// What `deliver` threw; the parse was stopped there.
    var deliveryError: (any Error)?
    var firstError: String?
    var firstErrorLine: Int?
    /// Where in the input libxml2 stood when it reported its first error.
    var firstErrorOffset: Int64?

    var recordName = InternedName("record")
    var leaderName = InternedName("leader")
    var controlFieldName = InternedName("controlfield")
    var dataFieldName = InternedName("datafield")
    var subfieldName = InternedName("subfield")
    var tagName = InternedName("tag")
    var ind1Name = InternedName("ind1")
    var ind2Name = InternedName("ind2")
    var codeName = InternedName("code")

    /// The control field being read, while `element` is `.controlField`.
    var controlTag = MARCTag(0x30, 0x30, 0x31)

    /// Without payloads: `characters` runs for every run of text, whitespace between elements included, and a
    /// comparison there costs less than a switch over payloads.
    enum ElementState {
        case none
        case leader
        case controlField
        /// Inside a control field that is not written: its tag is unusable.
        case lostControlField
        case dataField
        /// Inside a subfield whose code and text are written.
        case subfield
        /// Inside a subfield that is not written: its code is unusable, or its field's tag is.
        case lostSubfield
    }

    private enum Name { case record, leader, controlfield, datafield, subfield }

    struct RecordBuilder {
        var record = MARCRecord()
        var sawLeader = false
        var sawContent = false
        /// Where the field being read starts in the record's storage, while one is.
        var fieldStart: Int?
        var subfieldStart = 0
        var fieldTag: MARCTag?
        var diagnostics: [(MARCDiagnostic.Severity, MARCDiagnostic.Code, String)] = []
        let byteOffset: Int64

        init(byteOffset: Int64, expectedSize: Int = 0) {
            self.byteOffset = byteOffset
            if expectedSize > 0 {
                record.storage.reserveCapacity(expectedSize)
                record.entries.reserveCapacity(32)
            }
        }

        /// Closes the field being read, as a field of the record.
        mutating func closeField(_ tag: MARCTag, isControl: Bool) {
            guard let start = fieldStart else { return }
            record.entries.append(FieldEntry(tag: tag, isControl: isControl, start: start, end: record.storage.count))
            record.knownSubfieldCount = nil
            fieldStart = nil
        }

        /// Drops what was written of the field being read (or, from `from`, of its subfield).
        mutating func dropField(from: Int? = nil) {
            guard let start = from ?? fieldStart else { return }
            record.storage.removeSubrange(start...)
            if from == nil { fieldStart = nil }
        }

        mutating func report(_ severity: MARCDiagnostic.Severity, _ code: MARCDiagnostic.Code, _ message: String) {
            diagnostics.append((severity, code, message))
        }

        mutating func parseTag(_ bytes: UnsafeBufferPointer<UInt8>, kind: String) -> MARCTag? {
            guard bytes.count == 3 else {
                report(
                    .error, .tag,
                    "a \(kind) tag \"\(String(decoding: bytes, as: UTF8.self))\" is not three characters; field lost")
                return nil
            }
            return MARCTag(bytes[0], bytes[1], bytes[2])
        }

        mutating func indicator(_ bytes: UnsafeBufferPointer<UInt8>?, which: Int) -> UInt8 {
            if let bytes, bytes.count == 1 { return bytes[0] }
            let label = fieldTag?.string ?? "?"
            guard let bytes else {
                report(.warning, .indicators, "field \(label) has no ind\(which) attribute; blank assumed")
                return 0x20
            }
            report(.warning, .indicators, "field \(label) ind\(which) is \(bytes.count) characters, not 1")
            return bytes.first ?? 0x20
        }
    }

    /// Whether libxml2's first error lies at or past the end of the real input, so the document was cut short
    /// there, rather than broken inside. Past the end is the wrapper added around records back to back.
    func faultIsAtEnd(of input: XMLInput) -> Bool {
        guard let end = input.endOffset, let offset = firstErrorOffset else { return false }
        return offset >= end
    }

    mutating func record(_ error: xmlError) {
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue, firstError == nil else { return }
        firstErrorOffset = parser.map { Int64(xmlByteConsumed($0)) }
        var message = error.message.map { String(cString: $0) } ?? "XML error \(error.code)"
        while message.last?.isWhitespace == true { message.removeLast() }
        firstError = message
        firstErrorLine = Int(error.line)
    }

    private mutating func name(_ localName: UnsafePointer<xmlChar>) -> Name? {
        switch localName[0] {
        case UInt8(ascii: "r") where recordName.matches(localName): return .record
        case UInt8(ascii: "l") where leaderName.matches(localName): return .leader
        case UInt8(ascii: "c") where controlFieldName.matches(localName): return .controlfield
        case UInt8(ascii: "d") where dataFieldName.matches(localName): return .datafield
        case UInt8(ascii: "s") where subfieldName.matches(localName): return .subfield
        default: return nil
        }
    }

    mutating func characters(_ bytes: UnsafePointer<xmlChar>, _ length: Int) {
        if element == .subfield || element == .controlField {
            current.record.storage.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
        } else if element == .leader {
            text.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
        }
    }

    mutating func startElement(_ localName: UnsafePointer<xmlChar>, _ attributes: XMLAttributes) {
        guard let name = name(localName) else { return }
        if case .record = name {
            if isReadingRecord { enclosing.append(current) }
            current = RecordBuilder(
                byteOffset: Int64(parser.map { xmlByteConsumed($0) } ?? 0), expectedSize: expectedSize)
            isReadingRecord = true
            return
        }
        guard isReadingRecord else { return }
        switch name {
        case .record:
            break
        case .leader:
            current.sawContent = true
            current.dropField()
            element = .leader
            text.removeAll(keepingCapacity: true)
        case .controlfield:
            current.sawContent = true
            current.dropField()
            let tag = attributes.value(&tagName)
            let parsed = tag.flatMap { current.parseTag($0, kind: "controlfield") }
            if tag == nil { current.report(.error, .tag, "a controlfield has no tag attribute; field lost") }
            if let parsed {
                current.fieldStart = current.record.storage.count
                controlTag = parsed
                element = .controlField
            } else {
                element = .lostControlField
            }
        case .datafield:
            current.sawContent = true
            current.dropField()
            element = .dataField
            // One pass over the attributes: a data field has three, and there are millions of data fields.
            var tag, ind1Value, ind2Value: UnsafeBufferPointer<UInt8>?
            for index in 0..<attributes.count {
                guard let (name, value) = attributes[index] else { continue }
                if tag == nil, tagName.matches(name) {
                    tag = value
                } else if ind1Value == nil, ind1Name.matches(name) {
                    ind1Value = value
                } else if ind2Value == nil, ind2Name.matches(name) {
                    ind2Value = value
                }
            }
            current.fieldTag = tag.flatMap { current.parseTag($0, kind: "datafield") }
            if tag == nil { current.report(.error, .tag, "a datafield has no tag attribute; field lost") }
            let ind1 = current.indicator(ind1Value, which: 1)
            let ind2 = current.indicator(ind2Value, which: 2)
            // A field without a usable tag is lost, so nothing of it is written; its subfields are still checked.
            if current.fieldTag != nil {
                current.fieldStart = current.record.storage.count
                current.record.storage.append(ind1)
                current.record.storage.append(ind2)
            }
        case .subfield:
            guard case .dataField = element else { return }
            let code = attributes.value(&codeName)
            let writing = current.fieldStart != nil
            current.subfieldStart = current.record.storage.count
            if let code, code.count == 1, code[0] >= 0x20, code[0] < 0x7F {
                if writing {
                    current.record.storage.append(MARCDelimiter.subfield)
                    current.record.storage.append(code[0])
                }
            } else if let code, isOneCharacterCode(Array(code)) {
                if writing {
                    current.record.storage.append(MARCDelimiter.subfield)
                    current.record.storage.append(contentsOf: code)
                }
            } else {
                let label = current.fieldTag?.string ?? "?"
                current.report(.error, .subfield, "field \(label) has a subfield without a one-character code; subfield lost")
                element = .lostSubfield
                return
            }
            element = writing ? .subfield : .lostSubfield
        }
    }

    mutating func endElement(_ localName: UnsafePointer<xmlChar>) {
        guard let name = name(localName), isReadingRecord else { return }
        switch name {
        case .record:
            var builder = current
            if let outer = enclosing.popLast() {
                current = outer
            } else {
                current = RecordBuilder(byteOffset: 0)
                isReadingRecord = false
            }
            builder.dropField()
            expectedSize = builder.record.storage.count + builder.record.storage.count / 4
            element = .none
            if builder.sawContent { emit(builder) }
        case .leader:
            guard case .leader = element else { return }
            if text.count != Leader.length {
                current.report(.warning, .leader, "leader is \(text.count) characters, not 24")
            }
            current.record.leader = Leader(bytes: text)
            current.sawLeader = true
            element = .none
        case .controlfield:
            guard element == .controlField || element == .lostControlField else { return }
            if element == .controlField { current.closeField(controlTag, isControl: true) }
            element = .none
        case .datafield:
            guard case .dataField = element else { return }
            if let tag = current.fieldTag { current.closeField(tag, isControl: false) }
            current.fieldTag = nil
            element = .none
        case .subfield:
            switch element {
            case .subfield, .lostSubfield: element = .dataField
            default: return
            }
        }
    }

    private mutating func emit(_ builder: RecordBuilder) {
        var builder = builder
        recordNumber += 1
        var record = builder.record
        if !builder.sawLeader {
            builder.report(.warning, .leader, "the record has no leader; a blank one is assumed")
            record.leader = Leader("     nam a22     uu 4500")
        }
        record.encoding = UTF8Validation.classify(record.storage)
        MARCTranscoder.alignUnicodeLeader(&record) { builder.report($0, $1, $2) }
        let id = builder.diagnostics.isEmpty ? nil : record.controlNumber
        let number = recordNumber
        let diagnostics = builder.diagnostics.map {
            MARCDiagnostic($0.0, $0.1, $0.2, recordNumber: number, byteOffset: builder.byteOffset, controlNumber: id)
        }
        queue(MARCReadItem(record: record, diagnostics: diagnostics, recordNumber: number, byteOffset: builder.byteOffset))
    }

    private mutating func queue(_ item: MARCReadItem) {
        guard let deliver else {
            pending.append(item)
            return
        }
        guard deliveryError == nil else { return }
        do {
            try deliver(item)
        } catch {
            deliveryError = error
            if let parser { xmlStopParser(parser) }
        }
    }

    /// Ends the stream with an error. A record cut off by the fault is yielded as far as it was read, with the
    /// error; records completed before the fault have already been yielded.
    mutating func finish(error message: String, sourceEnded: Bool) {
        finished = true
        let offset = parser.map { Int64(max(0, xmlByteConsumed($0))) } ?? 0
        let line = firstErrorLine.map { " (line \($0))" } ?? ""
        let innermost = isReadingRecord && current.sawContent
        if var builder = innermost ? current : enclosing.last(where: { $0.sawContent }) {
            // Past the end of the real input, libxml2 complains about the added wrapper; say what happened.
            let message = sourceEnded ? "the document ends inside a record" : message
            // A data field cut off keeps its complete subfields; a control field or subfield cut off is dropped.
            if innermost, case .subfield = element { builder.dropField(from: builder.subfieldStart) }
            switch (innermost, element) {
            case (true, .dataField), (true, .subfield), (true, .lostSubfield):
                if let tag = builder.fieldTag { builder.closeField(tag, isControl: false) } else { builder.dropField() }
            default:
                builder.dropField()
            }
            builder.report(.error, sourceEnded ? .truncated : .xml, "\(message)\(line); the record is incomplete")
            emit(builder)
        } else {
            recordNumber += 1
            queue(
                MARCReadItem(
                    record: nil,
                    diagnostics: [
                        MARCDiagnostic(.error, .xml, "\(message)\(line)", recordNumber: recordNumber, byteOffset: offset)
                    ], recordNumber: recordNumber, byteOffset: offset))
        }
        isReadingRecord = false
        enclosing.removeAll()
    }
}

/// A subfield code is one printable ASCII byte, or one UTF-8 character (danMARC2 uses `å`).
func isOneCharacterCode(_ code: [UInt8]) -> Bool {
    guard let first = code.first else { return false }
    if code.count == 1 { return first >= 0x20 && first < 0x7F }
    guard code.count <= 4, first >= 0xC2 else { return false }
    return code.withUnsafeBufferPointer { subfieldCodeLength($0, at: 0, end: code.count) == code.count }
}
