import CLibXML2
import Store

/// Reads ISO 20775 holdings XML (`http://www.loc.gov/standards/iso20775/`), bare or inside an SRU response, one
/// `<holdings>` document at a time: the bib it belongs to (`resource/resourceIdentifier/value`) and each
/// `<holding>`: institution, physical location and sublocation, shelf locator, copies, enumeration.
public enum ISO20775Reader {
    public static let namespace = "http://www.loc.gov/standards/iso20775/"
    static let sruNamespace = "http://www.loc.gov/zing/srw/"

    /// One `<holdings>` document: the bib's local id, if it names one, and its holdings.
    public struct Document: Sendable {
        public var bibliographicID: String?
        public var holdings: [HoldingStatement]
    }

    /// True when the file is XML (its first byte past a BOM and white space is `<`) and its first 64 KiB
    /// declare the ISO 20775 namespace. Asked of every file: a MARC file is refused at its first byte, and the
    /// namespace is looked for with memmem (the generic `firstRange(of:)` took milliseconds a file).
    public static func isHoldingsXML(path: String) -> Bool {
        guard let handle = fopen(path, "rb") else { return false }
        defer { fclose(handle) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = fread(&buffer, 1, buffer.count, handle)
        var start = count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0
        while start < count, [0x20, 0x09, 0x0A, 0x0D].contains(buffer[start]) { start += 1 }
        guard start < count, buffer[start] == UInt8(ascii: "<") else { return false }
        let needle = Array(namespace.utf8)
        var index = start
        while index + needle.count <= count {
            if buffer[index] == needle[0] && buffer[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    /// Calls `each` for every `<holdings>` document, in file order. Throws on XML that is not well formed, with
    /// libxml2's message and line.
    public static func read(path: String, each: (Document) throws -> Void) throws {
        guard let reader = xmlReaderForFile(path, nil, Int32(XML_PARSE_NONET.rawValue)) else {
            throw HoldingsXMLError(message: "cannot open \(path)")
        }
        defer { xmlFreeTextReader(reader) }
        var status = xmlTextReaderRead(reader)
        while status == 1 {
            // An SRU record: its <holdings> in recordData, and the bib's id in recordIdentifier, which a
            // <holdings> without its own resource identifier relies on.
            if xmlTextReaderNodeType(reader) == 1, name(xmlTextReaderConstLocalName(reader)) == "record",
                name(xmlTextReaderConstNamespaceUri(reader)) == sruNamespace
            {
                guard let record = xmlTextReaderExpand(reader) else {
                    throw HoldingsXMLError(message: lastError() ?? "an SRU record could not be read")
                }
                let identifier = text(child(record, "recordIdentifier"))
                for data in children(record, "recordData") {
                    for holdings in children(data, "holdings") where namespace(of: holdings) == namespace {
                        var found = document(holdings)
                        found.bibliographicID = found.bibliographicID ?? identifier
                        try each(found)
                    }
                }
                status = xmlTextReaderNext(reader)
                continue
            }
            if xmlTextReaderNodeType(reader) == 1, name(xmlTextReaderConstLocalName(reader)) == "holdings",
                name(xmlTextReaderConstNamespaceUri(reader)) == namespace
            {
                guard let node = xmlTextReaderExpand(reader) else {
                    throw HoldingsXMLError(message: lastError() ?? "a <holdings> element could not be read")
                }
                try each(document(node))
                // Past the subtree just read; the node it lands on is looked at before reading on.
                status = xmlTextReaderNext(reader)
                continue
            }
            status = xmlTextReaderRead(reader)
        }
        if status < 0 { throw HoldingsXMLError(message: lastError() ?? "the XML is not well formed") }
    }

    static func document(_ node: xmlNodePtr) -> Document {
        let bib = children(node, "resource").flatMap { children($0, "resourceIdentifier") }.compactMap { text(child($0, "value")) }.first
        let holdings = children(node, "holding").map { holding in
            var statement = HoldingStatement()
            statement.institution = text(children(holding, "institutionIdentifier").first.flatMap { child($0, "value") })
            var sublocations: [String] = []
            var shelfLocators: [String] = []
            var items = 0
            var enumerations: [String] = []
            for simple in children(holding, "holdingSimple") {
                for copy in children(simple, "copyInformation") {
                    items += 1
                    if let value = text(child(copy, "sublocation")) { sublocations.append(value) }
                    if let value = text(child(copy, "shelfLocator")) { shelfLocators.append(value) }
                }
                if let count = text(children(simple, "copiesSummary").first.flatMap { child($0, "copiesCount") }).flatMap({ Int($0) }) {
                    items = max(items, count)
                }
            }
            for structured in children(holding, "holdingStructured") {
                for set in children(structured, "set") {
                    if let value = text(child(set, "sublocation")) { sublocations.append(value) }
                    if let value = text(child(set, "shelfLocator")) { shelfLocators.append(value) }
                    for component in children(set, "component") {
                        items += 1
                        if let value = text(children(component, "enumerationAndChronology").first.flatMap { child($0, "text") }) {
                            enumerations.append(value)
                        }
                    }
                }
            }
            let location = [text(child(holding, "physicalLocation"))] + unique(sublocations).prefix(1).map { Optional($0) }
            let joined = location.compactMap { $0 }.joined(separator: " / ")
            statement.location = joined.isEmpty ? nil : joined
            statement.callNumber = unique(shelfLocators).first
            statement.items = items > 0 ? items : nil
            statement.summary = enumerations.isEmpty ? nil : unique(enumerations).joined(separator: "; ")
            return statement
        }
        return Document(bibliographicID: bib, holdings: holdings)
    }

    // MARK: libxml2 trees

    private static func children(_ node: xmlNodePtr, _ wanted: String) -> [xmlNodePtr] {
        var result: [xmlNodePtr] = []
        var current = node.pointee.children
        while let child = current {
            if child.pointee.type == XML_ELEMENT_NODE, name(child.pointee.name) == wanted { result.append(child) }
            current = child.pointee.next
        }
        return result
    }

    private static func child(_ node: xmlNodePtr, _ wanted: String) -> xmlNodePtr? { children(node, wanted).first }

    private static func namespace(of node: xmlNodePtr) -> String? { name(node.pointee.ns?.pointee.href) }

    /// The element's text, spaces trimmed; nil when empty.
    private static func text(_ node: xmlNodePtr?) -> String? {
        guard let node else { return nil }
        var value = ""
        var current = node.pointee.children
        while let child = current {
            if child.pointee.type == XML_TEXT_NODE || child.pointee.type == XML_CDATA_SECTION_NODE, let content = child.pointee.content {
                value += String(cString: UnsafeRawPointer(content).assumingMemoryBound(to: CChar.self))
            }
            current = child.pointee.next
        }
        let trimmed = value.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        return trimmed.isEmpty ? nil : trimmed
    }

    private static func name(_ pointer: UnsafePointer<xmlChar>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    private static func lastError() -> String? {
        guard let error = xmlGetLastError(), let message = error.pointee.message else { return nil }
        let text = String(cString: message).trimmingCharacters(in: [" ", "\n"])
        return "line \(error.pointee.line): \(text)"
    }
}

/// ISO 20775 XML that could not be read.
public struct HoldingsXMLError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var text = self[...]
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
