import Crosswalk
import Dedup
import Foundation
import MARC
import NIOHTTP1
import Search
import Store

/// SRU at `/sru`: `searchRetrieve` in versions 1.1, 1.2 and 2.0 with CQL, and `explain`, the protocol cataloguing
/// clients (MarcEdit, yaz, Z39.50 gateways) use for copy cataloguing. Errors are SRU diagnostics in an answer
/// with status 200, as SRU clients expect.
struct SRUService {
    struct Diagnostic: Error {
        var number: Int
        var details: String?

        static let messages: [Int: String] = [
            1: "General system error", 4: "Unsupported operation", 5: "Unsupported version", 6: "Unsupported parameter value",
            7: "Mandatory parameter not supplied", 8: "Unsupported parameter", 10: "Query syntax error", 16: "Unsupported index",
            19: "Unsupported relation", 20: "Unsupported relation modifier", 27: "Empty term unsupported",
            28: "Masking character not supported", 31: "Anchoring character not supported", 37: "Unsupported boolean operator",
            46: "Unsupported boolean modifier", 48: "Query feature unsupported", 49: "Masking character in unsupported position",
            60: "Result set not created: too many matching records", 61: "First record position out of range",
            66: "Unknown schema for retrieval", 71: "Unsupported record packing", 72: "XPath retrieval unsupported",
            80: "Sort not supported", 110: "Stylesheets not supported",
        ]
    }

    enum Version: String {
        case v1_1 = "1.1", v1_2 = "1.2", v2_0 = "2.0"

        var isTwo: Bool { self == .v2_0 }
        var namespace: String { isTwo ? "http://docs.oasis-open.org/ns/search-ws/sruResponse" : "http://www.loc.gov/zing/srw/" }
        var diagnosticNamespace: String {
            isTwo ? "http://docs.oasis-open.org/ns/search-ws/diagnostic" : "http://www.loc.gov/zing/srw/diagnostic/"
        }
    }

    enum Schema {
        case marcxml, dublinCore

        var identifier: String { self == .marcxml ? "info:srw/schema/1/marcxml-v1.1" : "info:srw/schema/1/dc-v1.1" }

        static func named(_ name: String) -> Schema? {
            switch name.lowercased() {
            case "marcxml", "marc21", "marc21-xml", "marcxml-v1.1", "info:srw/schema/1/marcxml-v1.1", "http://www.loc.gov/marc21/slim":
                return .marcxml
            case "dc", "info:srw/schema/1/dc-v1.1", "info:srw/schema/1/dc-schema": return .dublinCore
            default: return nil
            }
        }
    }

    /// What a CQL index searches.
    enum Index: String {
        case isbn, issn, title, author, publisher, controlNumber = "control number", lccn, any
    }

    static let indexes: [String: Index] = [
        "isbn": .isbn, "bath.isbn": .isbn, "issn": .issn, "bath.issn": .issn,
        "title": .title, "dc.title": .title, "bath.title": .title,
        "author": .author, "creator": .author, "dc.creator": .author, "bath.author": .author, "bath.name": .author,
        "bath.personalname": .author, "publisher": .publisher, "dc.publisher": .publisher, "bath.publisher": .publisher,
        "rec.id": .controlNumber, "controlnumber": .controlNumber, "local.controlnumber": .controlNumber, "id": .controlNumber,
        "lccn": .lccn, "bath.lccn": .lccn,
        "cql.serverchoice": .any, "cql.anywhere": .any, "cql.keywords": .any, "any": .any, "anywhere": .any, "keyword": .any,
    ]

    static let defaultRecords = 10
    static let maximumRecords = 100
    /// A text clause combined with an identifier clause is matched in full; past this many it is refused (60).
    static let combinedTextLimit = 100_000

    let store: CatalogStore
    let publicURL: String

    func respond(_ query: [String: String]) -> APIResponse {
        let parameters = Dictionary(query.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        var version = Version.v1_2
        do {
            if let text = parameters["version"] {
                guard let known = Version(rawValue: text) else { throw Diagnostic(number: 5, details: "2.0") }
                version = known
            } else if parameters["operation"] == nil {
                version = .v2_0
            }
            let operation = parameters["operation"] ?? (version.isTwo && parameters["query"] != nil ? "searchRetrieve" : "explain")
            switch operation {
            case "searchRetrieve": return try searchRetrieve(parameters, version: version)
            case "explain": return explain(version: version)
            default: throw Diagnostic(number: 4, details: operation)
            }
        } catch let diagnostic as Diagnostic {
            return searchResponse(version: version, total: 0, records: [], next: nil, diagnostic: diagnostic)
        } catch {
            return searchResponse(version: version, total: 0, records: [], next: nil, diagnostic: Diagnostic(number: 1, details: "\(error)"))
        }
    }

    // MARK: searchRetrieve

    private func searchRetrieve(_ parameters: [String: String], version: Version) throws -> APIResponse {
        for (name, number) in [("stylesheet", 110), ("sortkeys", 80), ("recordxpath", 72)] where parameters[name] != nil {
            throw Diagnostic(number: number, details: name)
        }
        if let type = parameters["querytype"], type.lowercased() != "cql" { throw Diagnostic(number: 6, details: "queryType") }
        guard let text = parameters["query"], !text.allSatisfy(\.isWhitespace) else { throw Diagnostic(number: 7, details: "query") }
        let schema = try parameters["recordschema"].map { name in
            guard let schema = Schema.named(name) else { throw Diagnostic(number: 66, details: name) }
            return schema
        } ?? .marcxml
        let escapingName = version.isTwo ? "recordxmlescaping" : "recordpacking"
        let escaping = (parameters[escapingName] ?? "xml").lowercased()
        guard escaping == "xml" || escaping == "string" else { throw Diagnostic(number: 71, details: escaping) }
        if version.isTwo, let packing = parameters["recordpacking"], !["packed", "unpacked"].contains(packing.lowercased()) {
            throw Diagnostic(number: 6, details: "recordPacking")
        }
        let start = try number(parameters, "startrecord", default: 1, minimum: 1)
        let maximum = min(try number(parameters, "maximumrecords", default: Self.defaultRecords, minimum: 0), Self.maximumRecords)

        let parsed: CQLQuery
        do {
            parsed = try CQLParser.parse(text)
        } catch {
            throw Diagnostic(number: error.diagnostic, details: error.message)
        }
        let result = try evaluate(parsed)
        let total: Int
        let ids: [Int64]
        switch result {
        case .ranked(let match):
            total = try store.searchCount(match: match)
            ids = total >= start && maximum > 0 ? try store.search(match: match, limit: maximum, offset: start - 1).map(\.unionID) : []
        case .set(let all):
            total = all.count
            ids = total >= start && maximum > 0 ? Array(all[(start - 1)..<min(all.count, start - 1 + maximum)]) : []
        }
        if start > total && total > 0 { throw Diagnostic(number: 61, details: "\(start)") }
        var records: [(position: Int, data: [UInt8])] = []
        for (offset, id) in ids.enumerated() {
            guard let union = try store.unionRecord(id: id), let record = MergedRecord.build(union) else { continue }
            records.append((start + offset, Self.recordData(record, schema: schema, escaping: escaping == "string")))
        }
        let next = start + ids.count <= total && !ids.isEmpty ? start + ids.count : nil
        return searchResponse(
            version: version, total: total, records: records.map { ($0.position, $0.data, schema, escaping) }, next: next, diagnostic: nil)
    }

    private func number(_ parameters: [String: String], _ name: String, default value: Int, minimum: Int) throws -> Int {
        guard let text = parameters[name] else { return value }
        guard let number = Int(text), number >= minimum else {
            throw Diagnostic(number: 6, details: name == "startrecord" ? "startRecord" : "maximumRecords")
        }
        return number
    }

    /// A query's answer before paging: ranked by the search index, or a set of union ids in id order.
    enum Result {
        case ranked(String)
        case set([Int64])
    }

    private func evaluate(_ query: CQLQuery) throws -> Result {
        switch query {
        case .clause(let clause):
            return try evaluate(clause)
        case .boolean(let boolean, let modifiers, let left, let right):
            guard boolean != .prox else { throw Diagnostic(number: 37, details: "prox") }
            if let modifier = modifiers.first { throw Diagnostic(number: 46, details: modifier) }
            let (a, b) = (try evaluate(left), try evaluate(right))
            if case .ranked(let x) = a, case .ranked(let y) = b {
                return .ranked("(\(x)) \(boolean.rawValue.uppercased()) (\(y))")
            }
            let (first, second) = (try materialise(a), Set(try materialise(b)))
            switch boolean {
            case .and: return .set(first.filter(second.contains))
            case .or: return .set(Array(second.union(first)).sorted())
            default: return .set(first.filter { !second.contains($0) })
            }
        }
    }

    private func materialise(_ result: Result) throws -> [Int64] {
        switch result {
        case .set(let ids): return ids
        case .ranked(let match):
            guard let ids = try store.searchAll(match: match, limit: Self.combinedTextLimit) else {
                throw Diagnostic(
                    number: 60,
                    details: "a word combined with an identifier matches more than \(Self.combinedTextLimit) records; narrow it")
            }
            return ids
        }
    }

    private func evaluate(_ clause: CQLClause) throws -> Result {
        guard let index = Self.indexes[clause.index] else { throw Diagnostic(number: 16, details: clause.index) }
        if let modifier = clause.modifiers.first { throw Diagnostic(number: 20, details: modifier) }
        let term = clause.term.trimmingCharacters(in: .whitespaces)
        guard !term.isEmpty else { throw Diagnostic(number: 27, details: clause.index) }
        if term.contains("^") { throw Diagnostic(number: 31, details: term) }
        if term.contains("?") && !term.contains("\\?") { throw Diagnostic(number: 28, details: term) }
        let textRelations: Set<String> = ["=", "==", "all", "adj", "exact", "any"]
        guard textRelations.contains(clause.relation) else { throw Diagnostic(number: 19, details: clause.relation) }
        switch index {
        case .title, .author, .publisher:
            return try text(term, column: index.rawValue, any: clause.relation == "any")
        case .any:
            if let ids = try identifier(term) { return .set(ids) }
            return try text(term, column: nil, any: clause.relation == "any")
        case .isbn:
            return .set(try Identifiers.isbn13(term).map { try store.unionIDs(withKey: MatchKey("isbn", $0)) } ?? [])
        case .issn:
            return .set(try Identifiers.issn(term).map { try store.unionIDs(withKey: MatchKey("issn", $0)) } ?? [])
        case .lccn:
            return .set(try Identifiers.lccn(term).map { try store.unionIDs(withKey: MatchKey("lccn", $0)) } ?? [])
        case .controlNumber:
            return .set(try controlNumber(term))
        }
    }

    private func text(_ term: String, column: String?, any: Bool) throws -> Result {
        if term.hasPrefix("*") { throw Diagnostic(number: 49, details: term) }
        let words = any ? term.split(whereSeparator: \.isWhitespace).map(String.init) : [term]
        let matches = words.compactMap { SearchTokens.match($0, column: column) }
        guard !matches.isEmpty else { throw Diagnostic(number: 27, details: "'\(term)' holds no word to search for") }
        return .ranked(matches.count == 1 ? matches[0] : matches.map { "(\($0))" }.joined(separator: " OR "))
    }

    /// A term of `cql.serverChoice` that is plainly an identifier is looked up as one.
    private func identifier(_ term: String) throws -> [Int64]? {
        if UnionID.parse(term) != nil { return try controlNumber(term) }
        let digits = term.filter { $0 != "-" && $0 != " " }
        if (digits.count == 10 || digits.count == 13), digits.dropLast().allSatisfy(\.isNumber), let isbn = Identifiers.isbn13(term) {
            return try store.unionIDs(withKey: MatchKey("isbn", isbn))
        }
        return nil
    }

    /// A control number: a union id (`CAL…`, the 001 of the records SRU gives), a member's record as
    /// `(MEMBER)LOCALID` (the 035 they carry), an LCCN or an OCLC number (`(OCoLC)…`).
    private func controlNumber(_ term: String) throws -> [Int64] {
        if let id = UnionID.parse(term) {
            guard let union = try store.unionRecord(id: id) else { return [] }
            if union.status == "active" { return [id] }
            return union.redirectTo.map { [$0] } ?? []
        }
        if term.hasPrefix("("), let close = term.firstIndex(of: ")") {
            let system = String(term[term.index(after: term.startIndex)..<close])
            let local = String(term[term.index(after: close)...]).trimmingCharacters(in: .whitespaces)
            if let oclc = Identifiers.oclc(term), system.lowercased().hasPrefix("ocolc") || system.lowercased() == "oclc" {
                return try store.unionIDs(withKey: MatchKey("oclc", oclc))
            }
            guard let record = try store.sourceRecord(member: system, localID: local), record.status == "active" else { return [] }
            return record.unionID.map { [$0] } ?? []
        }
        if let lccn = Identifiers.lccn(term) { return try store.unionIDs(withKey: MatchKey("lccn", lccn)) }
        return []
    }

    // MARK: Responses

    static func recordData(_ record: MARCRecord, schema: Schema, escaping: Bool) -> [UInt8] {
        var xml: [UInt8] = []
        switch schema {
        case .marcxml:
            MARCXMLWriter.write(record, standalone: true, into: &xml)
        case .dublinCore:
            DublinCoreXML.append(record, root: "srw_dc:dc", namespaces: #"xmlns:srw_dc="info:srw/schema/1/dc-schema""#, into: &xml)
        }
        guard escaping else { return xml }
        var escaped: [UInt8] = []
        MARCXMLWriter.appendEscaped(String(decoding: xml, as: UTF8.self), into: &escaped)
        return escaped
    }

    private func searchResponse(
        version: Version, total: Int, records: [(position: Int, data: [UInt8], schema: Schema, escaping: String)], next: Int?,
        diagnostic: Diagnostic?
    ) -> APIResponse {
        var xml = Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8) + [0x0A]
        xml.append(contentsOf: "<searchRetrieveResponse xmlns=\"\(version.namespace)\">\n".utf8)
        xml.append(contentsOf: "  <version>\(version.rawValue)</version>\n  <numberOfRecords>\(total)</numberOfRecords>\n".utf8)
        if !records.isEmpty {
            xml.append(contentsOf: "  <records>\n".utf8)
            for record in records {
                xml.append(contentsOf: "    <record>\n      <recordSchema>\(record.schema.identifier)</recordSchema>\n".utf8)
                xml.append(contentsOf: (version.isTwo ? "      <recordXMLEscaping>" : "      <recordPacking>").utf8)
                xml.append(contentsOf: record.escaping.utf8)
                xml.append(contentsOf: (version.isTwo ? "</recordXMLEscaping>\n" : "</recordPacking>\n").utf8)
                xml.append(contentsOf: "      <recordData>".utf8)
                xml.append(contentsOf: record.data)
                xml.append(contentsOf: "</recordData>\n      <recordPosition>\(record.position)</recordPosition>\n    </record>\n".utf8)
            }
            xml.append(contentsOf: "  </records>\n".utf8)
        }
        if let next { xml.append(contentsOf: "  <nextRecordPosition>\(next)</nextRecordPosition>\n".utf8) }
        if let diagnostic { Self.append(diagnostic, version: version, to: &xml) }
        xml.append(contentsOf: "</searchRetrieveResponse>\n".utf8)
        return APIResponse(status: .ok, contentType: "application/xml; charset=utf-8", body: xml)
    }

    private static func append(_ diagnostic: Diagnostic, version: Version, to xml: inout [UInt8]) {
        xml.append(contentsOf: "  <diagnostics>\n    <diagnostic xmlns=\"\(version.diagnosticNamespace)\">\n".utf8)
        xml.append(contentsOf: "      <uri>info:srw/diagnostic/1/\(diagnostic.number)</uri>\n".utf8)
        if let details = diagnostic.details {
            xml.append(contentsOf: "      <details>".utf8)
            MARCXMLWriter.appendEscaped(details, into: &xml)
            xml.append(contentsOf: "</details>\n".utf8)
        }
        xml.append(contentsOf: "      <message>\(Diagnostic.messages[diagnostic.number] ?? "Error")</message>\n".utf8)
        xml.append(contentsOf: "    </diagnostic>\n  </diagnostics>\n".utf8)
    }

    // MARK: explain

    private func explain(version: Version) -> APIResponse {
        let url = URL(string: publicURL)
        let host = url?.host ?? "localhost"
        let port = url?.port ?? (url?.scheme == "https" ? 443 : 80)
        let base = (url?.path ?? "").split(separator: "/").map(String.init) + ["sru"]
        var xml = Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8) + [0x0A]
        xml.append(contentsOf: "<explainResponse xmlns=\"\(version.namespace)\">\n  <version>\(version.rawValue)</version>\n  <record>\n".utf8)
        xml.append(contentsOf: "    <recordSchema>http://explain.z3950.org/dtd/2.0/</recordSchema>\n".utf8)
        xml.append(contentsOf: (version.isTwo ? "    <recordXMLEscaping>xml</recordXMLEscaping>\n" : "    <recordPacking>xml</recordPacking>\n").utf8)
        xml.append(contentsOf: "    <recordData>\n      <explain xmlns=\"http://explain.z3950.org/dtd/2.0/\">\n".utf8)
        xml.append(contentsOf: "        <serverInfo protocol=\"SRU\" version=\"\(version.rawValue)\">\n          <host>".utf8)
        MARCXMLWriter.appendEscaped(host, into: &xml)
        xml.append(contentsOf: "</host>\n          <port>\(port)</port>\n          <database>".utf8)
        MARCXMLWriter.appendEscaped(base.joined(separator: "/"), into: &xml)
        xml.append(contentsOf: "</database>\n        </serverInfo>\n".utf8)
        xml.append(
            contentsOf: """
                        <databaseInfo>
                          <title>Union catalogue</title>
                          <description>The deduplicated union catalogue of the consortium's members: one MARC record per manifestation, its 001 the union id (CAL…), its 035s the members' own numbers.</description>
                        </databaseInfo>
                        <indexInfo>
                          <set name="cql" identifier="info:srw/cql-context-set/1/cql-v1.2"/>
                          <set name="dc" identifier="info:srw/cql-context-set/1/dc-v1.1"/>
                          <set name="bath" identifier="http://zing.z3950.org/cql/bath/2.0/"/>
                          <set name="rec" identifier="info:srw/cql-context-set/2/rec-1.1"/>

                """.utf8)
        let published: [(String, [(String, String)])] = [
            ("ISBN", [("bath", "isbn")]), ("ISSN", [("bath", "issn")]), ("Title", [("dc", "title"), ("bath", "title")]),
            ("Author", [("dc", "creator"), ("bath", "author"), ("bath", "name")]), ("Publisher", [("dc", "publisher")]),
            ("Control number (union id, (MEMBER)LOCALID, LCCN, (OCoLC)number)", [("rec", "id")]), ("LCCN", [("bath", "lccn")]),
            ("Any: title, author and publisher words, or an ISBN or union id", [("cql", "serverChoice"), ("cql", "anywhere")]),
        ]
        for (title, names) in published {
            xml.append(contentsOf: "          <index>\n            <title>\(title)</title>\n".utf8)
            for (set, name) in names {
                xml.append(contentsOf: "            <map><name set=\"\(set)\">\(name)</name></map>\n".utf8)
            }
            xml.append(contentsOf: "          </index>\n".utf8)
        }
        xml.append(
            contentsOf: """
                        </indexInfo>
                        <schemaInfo>
                          <schema identifier="info:srw/schema/1/marcxml-v1.1" name="marcxml" retrieve="true"><title>MARCXML</title></schema>
                          <schema identifier="info:srw/schema/1/dc-v1.1" name="dc" retrieve="true"><title>Dublin Core</title></schema>
                        </schemaInfo>
                        <configInfo>
                          <default type="numberOfRecords">\(Self.defaultRecords)</default>
                          <setting type="maximumRecords">\(Self.maximumRecords)</setting>
                          <default type="retrieveSchema">marcxml</default>
                        </configInfo>
                      </explain>
                    </recordData>
                  </record>
                </explainResponse>

                """.utf8)
        return APIResponse(status: .ok, contentType: "application/xml; charset=utf-8", body: xml)
    }
}

/// A record as simple Dublin Core XML in a root element of the protocol's choosing (SRU's `srw_dc:dc`, OAI-PMH's
/// `oai_dc:dc`).
enum DublinCoreXML {
    static func append(_ record: MARCRecord, root: String, namespaces: String, into xml: inout [UInt8]) {
        xml.append(contentsOf: "<\(root) \(namespaces) xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n".utf8)
        for element in DublinCore.elements(of: record) {
            xml.append(contentsOf: "  <dc:\(element.name)>".utf8)
            MARCXMLWriter.appendEscaped(element.value, into: &xml)
            xml.append(contentsOf: "</dc:\(element.name)>\n".utf8)
        }
        xml.append(contentsOf: "</\(root)>\n".utf8)
    }
}
