import CLibXML2
import Foundation

/// One OAI-PMH 2.0 response, read with libxml2: the response date, an OAI error if the provider gave one, and
/// for ListRecords the records (their MARCXML, ready for the ingest pipeline) and the resumption token.
struct OAIResponse: Sendable {
    struct Record: Sendable {
        var identifier: String
        var datestamp: String
        var deleted: Bool
        /// The metadata's MARCXML `record` element with its namespace declared, 001 added when missing.
        var marcXML: [UInt8]?
        /// The record's 001 (or the OAI identifier when it has none).
        var localID: String?
    }

    var responseDate: String?
    /// `error/@code` and its text: badArgument, badResumptionToken, noRecordsMatch, …
    var error: (code: String, message: String)?
    var records: [Record] = []
    /// nil or empty: the list is complete.
    var resumptionToken: String?
    /// Identify's `granularity`.
    var granularity: String?
    /// Identify's `repositoryName`.
    var repositoryName: String?

    static let oaiNamespace = "http://www.openarchives.org/OAI/2.0/"
    static let marcNamespace = "http://www.loc.gov/MARC21/slim"

    /// - Throws: ``HarvestError/malformed`` when the bytes are not an OAI-PMH response.
    static func parse(_ bytes: [UInt8]) throws -> OAIResponse {
        calisd_xml_silence_generic_errors()
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_HUGE.rawValue)
        guard
            let document = bytes.withUnsafeBufferPointer({ buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReadMemory($0, Int32(buffer.count), "oai.xml", nil, options)
                }
            })
        else {
            let detail = xmlGetLastError().map { String(cString: $0.pointee.message).trimmingCharacters(in: .whitespacesAndNewlines) }
            throw HarvestError.malformed("the response is not well-formed XML" + (detail.map { ": \($0)" } ?? ""))
        }
        defer { xmlFreeDoc(document) }
        guard let root = xmlDocGetRootElement(document), Self.name(root) == "OAI-PMH", Self.namespace(root) == oaiNamespace else {
            throw HarvestError.malformed("the response is XML but not OAI-PMH 2.0 (no OAI-PMH root element in \(oaiNamespace))")
        }
        var response = OAIResponse()
        for child in Self.elements(root) {
            switch Self.name(child) {
            case "responseDate": response.responseDate = Self.text(child)
            case "error": response.error = (Self.attribute(child, "code") ?? "unknown", Self.text(child))
            case "Identify":
                response.granularity = Self.elements(child).first { Self.name($0) == "granularity" }.map(Self.text)
                response.repositoryName = Self.elements(child).first { Self.name($0) == "repositoryName" }.map(Self.text)
            case "ListRecords", "GetRecord":
                for item in Self.elements(child) {
                    switch Self.name(item) {
                    case "record": response.records.append(try Self.record(item))
                    case "resumptionToken": response.resumptionToken = Self.text(item)
                    default: break
                    }
                }
            default: break
            }
        }
        guard response.responseDate != nil else {
            throw HarvestError.malformed("the OAI-PMH response has no responseDate")
        }
        return response
    }

    private static func record(_ node: xmlNodePtr) throws -> Record {
        guard let header = elements(node).first(where: { name($0) == "header" }) else {
            throw HarvestError.malformed("a record without a header")
        }
        let fields = elements(header)
        guard let identifier = fields.first(where: { name($0) == "identifier" }).map(text), !identifier.isEmpty else {
            throw HarvestError.malformed("a record header without an identifier")
        }
        let datestamp = fields.first { name($0) == "datestamp" }.map(text) ?? ""
        var record = Record(identifier: identifier, datestamp: datestamp, deleted: attribute(header, "status") == "deleted")
        guard !record.deleted, let metadata = elements(node).first(where: { name($0) == "metadata" }) else { return record }
        guard let marc = marcRecord(in: metadata) else { return record }
        let controlNumber = elements(marc).first { name($0) == "controlfield" && attribute($0, "tag") == "001" }.map(text)
        record.localID = controlNumber.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        record.marcXML = serialise(marc, addingControlNumber: record.localID == nil ? identifier : nil)
        if record.localID == nil { record.localID = identifier }
        return record
    }

    /// The MARCXML record inside `metadata`: the element itself, or the one record of a collection.
    private static func marcRecord(in metadata: xmlNodePtr) -> xmlNodePtr? {
        for child in elements(metadata) {
            if name(child) == "record", namespace(child) == marcNamespace { return child }
            if name(child) == "collection", namespace(child) == marcNamespace {
                return elements(child).first { name($0) == "record" && namespace($0) == marcNamespace }
            }
        }
        return nil
    }

    /// The element copied into a document of its own, so its namespace is declared on it, as bytes.
    private static func serialise(_ node: xmlNodePtr, addingControlNumber controlNumber: String?) -> [UInt8] {
        let document = xmlNewDoc("1.0")
        defer { xmlFreeDoc(document) }
        guard let copy = xmlDocCopyNode(node, document, 1) else { return [] }
        xmlDocSetRootElement(document, copy)
        if let controlNumber {
            let field = xmlNewDocNode(document, copy.pointee.ns, "controlfield", nil)
            xmlSetProp(field, "tag", "001")
            xmlAddChild(field, xmlNewDocText(document, controlNumber))
            if let leader = elements(copy).first(where: { name($0) == "leader" }) {
                xmlAddNextSibling(leader, field)
            } else if let first = elements(copy).first {
                xmlAddPrevSibling(first, field)
            } else {
                xmlAddChild(copy, field)
            }
        }
        guard let buffer = xmlBufferCreate() else { return [] }
        defer { xmlBufferFree(buffer) }
        xmlNodeDump(buffer, document, copy, 0, 0)
        let length = Int(xmlBufferLength(buffer))
        guard let content = xmlBufferContent(buffer) else { return [] }
        return Array(UnsafeBufferPointer(start: content, count: length))
    }

    // Reading the tree without xmlFree (a global function pointer Swift 6 cannot use safely): text is read from
    // the text nodes themselves.

    static func elements(_ node: xmlNodePtr) -> [xmlNodePtr] {
        var result: [xmlNodePtr] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { result.append(current) }
            child = current.pointee.next
        }
        return result
    }

    static func name(_ node: xmlNodePtr) -> String {
        node.pointee.name.map { String(cString: $0) } ?? ""
    }

    static func namespace(_ node: xmlNodePtr) -> String? {
        node.pointee.ns?.pointee.href.map { String(cString: $0) }
    }

    static func text(_ node: xmlNodePtr) -> String {
        var bytes: [UInt8] = []
        func collect(_ node: xmlNodePtr) {
            var child = node.pointee.children
            while let current = child {
                switch current.pointee.type {
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                    if let content = current.pointee.content {
                        bytes.append(contentsOf: UnsafeBufferPointer(start: content, count: strlen(content)))
                    }
                case XML_ELEMENT_NODE: collect(current)
                default: break
                }
                child = current.pointee.next
            }
        }
        collect(node)
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func attribute(_ node: xmlNodePtr, _ wanted: String) -> String? {
        var property = node.pointee.properties
        while let current = property {
            if let name = current.pointee.name, String(cString: name) == wanted {
                var bytes: [UInt8] = []
                var child = current.pointee.children
                while let text = child {
                    if let content = text.pointee.content {
                        bytes.append(contentsOf: UnsafeBufferPointer(start: content, count: strlen(content)))
                    }
                    child = text.pointee.next
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            property = current.pointee.next
        }
        return nil
    }
}
