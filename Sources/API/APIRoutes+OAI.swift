import Foundation
import MARC
import NIOHTTP1
import Store

/// The OAI-PMH 2.0 provider at `/oai`: the union catalogue for harvesters, each union record an item
/// `oai:<repository_identifier>:CAL…` dated by its last change, as MARCXML (`marc21`) or simple Dublin Core
/// (`oai_dc`). A union record deleted, or merged into another, stays listed as deleted (`deletedRecord`
/// persistent). Each member is a set: the union records holding one of its records. Resumption tokens carry
/// their own position, so they never expire and survive a restart.
struct OAIProvider {
    struct Failure: Error {
        var code: String
        var message: String
        /// badVerb and badArgument answers must not echo the request's arguments.
        var echoArguments: Bool { code != "badVerb" && code != "badArgument" }
    }

    static let namespace = "http://www.openarchives.org/OAI/2.0/"

    let store: CatalogStore
    let publication: Publication

    var baseURL: String { publication.publicURL + "/oai" }

    func respond(_ request: APIRequest) -> APIResponse {
        var arguments: [(name: String, value: String)] = request.queryPairs
        if request.method == .POST {
            let type = request.headers.first(name: "Content-Type")?.lowercased() ?? ""
            guard type.hasPrefix("application/x-www-form-urlencoded"), let form = APIRequest.parseForm(Substring(decoding: request.body, as: UTF8.self))
            else {
                return envelope(arguments: [], failure: Failure(code: "badArgument", message: "a POST carries its arguments as application/x-www-form-urlencoded"))
            }
            arguments += form
        } else if request.method != .GET {
            return APIError(.methodNotAllowed, "method_not_allowed", "OAI-PMH requests are GET or POST").response
        }
        var values: [String: String] = [:]
        for (name, value) in arguments {
            guard values.updateValue(value, forKey: name) == nil else {
                let failure = name == "verb"
                    ? Failure(code: "badVerb", message: "the verb is given more than once")
                    : Failure(code: "badArgument", message: "\(name) is given more than once")
                return envelope(arguments: [], failure: failure)
            }
        }
        do {
            let body = try answer(values)
            return envelope(arguments: arguments, body: body)
        } catch let failure as Failure {
            return envelope(arguments: arguments, failure: failure)
        } catch {
            return APIError(.internalServerError, "internal", "the OAI-PMH request failed; the daemon's log says why").response
        }
    }

    private func answer(_ values: [String: String]) throws -> [UInt8] {
        guard let verb = values["verb"] else { throw Failure(code: "badVerb", message: "no verb: give verb=Identify, ListRecords, …") }
        let allowed: [String: (required: Set<String>, optional: Set<String>)] = [
            "Identify": ([], []), "ListMetadataFormats": ([], ["identifier"]), "ListSets": ([], ["resumptionToken"]),
            "GetRecord": (["identifier", "metadataPrefix"], []),
            "ListIdentifiers": (["metadataPrefix"], ["from", "until", "set", "resumptionToken"]),
            "ListRecords": (["metadataPrefix"], ["from", "until", "set", "resumptionToken"]),
        ]
        guard let rule = allowed[verb] else {
            throw Failure(code: "badVerb", message: "\(verb) is not an OAI-PMH verb: Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord")
        }
        let given = Set(values.keys).subtracting(["verb"])
        if let illegal = given.subtracting(rule.required).subtracting(rule.optional).sorted().first {
            throw Failure(code: "badArgument", message: "\(illegal) is not an argument of \(verb)")
        }
        if values["resumptionToken"] != nil {
            guard given == ["resumptionToken"] else {
                throw Failure(code: "badArgument", message: "resumptionToken is an exclusive argument: give it alone with the verb")
            }
        } else if let missing = rule.required.subtracting(given).sorted().first {
            throw Failure(code: "badArgument", message: "\(verb) needs \(missing)")
        }
        switch verb {
        case "Identify": return try identify()
        case "ListMetadataFormats": return try listMetadataFormats(values["identifier"])
        case "ListSets":
            if values["resumptionToken"] != nil { throw Failure(code: "badResumptionToken", message: "ListSets is answered in one response") }
            return try listSets()
        case "GetRecord": return try getRecord(values["identifier"]!, prefix: values["metadataPrefix"]!)
        default: return try list(verb, values, withMetadata: verb == "ListRecords")
        }
    }

    // MARK: Verbs

    private func identify() throws -> [UInt8] {
        let earliest = try store.earliestUnionUpdate() ?? CatalogStore.now()
        var xml: [UInt8] = []
        xml.append(contentsOf: "  <Identify>\n    <repositoryName>".utf8)
        MARCXMLWriter.appendEscaped(publication.repositoryName, into: &xml)
        xml.append(contentsOf: "</repositoryName>\n    <baseURL>".utf8)
        MARCXMLWriter.appendEscaped(baseURL, into: &xml)
        xml.append(contentsOf: "</baseURL>\n    <protocolVersion>2.0</protocolVersion>\n    <adminEmail>".utf8)
        MARCXMLWriter.appendEscaped(publication.adminEmail, into: &xml)
        xml.append(
            contentsOf: """
                </adminEmail>
                    <earliestDatestamp>\(Self.datestamp(earliest))</earliestDatestamp>
                    <deletedRecord>persistent</deletedRecord>
                    <granularity>YYYY-MM-DDThh:mm:ssZ</granularity>
                    <description>
                      <oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">
                        <scheme>oai</scheme>
                        <repositoryIdentifier>\(publication.repositoryIdentifier)</repositoryIdentifier>
                        <delimiter>:</delimiter>
                        <sampleIdentifier>\(identifier(1))</sampleIdentifier>
                      </oai-identifier>
                    </description>
                  </Identify>

                """.utf8)
        return xml
    }

    private func listMetadataFormats(_ identifier: String?) throws -> [UInt8] {
        if let identifier { _ = try stamp(identifier) }
        return Array(
            """
              <ListMetadataFormats>
                <metadataFormat>
                  <metadataPrefix>marc21</metadataPrefix>
                  <schema>http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd</schema>
                  <metadataNamespace>http://www.loc.gov/MARC21/slim</metadataNamespace>
                </metadataFormat>
                <metadataFormat>
                  <metadataPrefix>oai_dc</metadataPrefix>
                  <schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>
                  <metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>
                </metadataFormat>
              </ListMetadataFormats>

            """.utf8)
    }

    private func listSets() throws -> [UInt8] {
        let members = try store.members()
        guard !members.isEmpty else { throw Failure(code: "noSetHierarchy", message: "the catalogue has no members yet, so no sets") }
        var xml = Array("  <ListSets>\n".utf8)
        for member in members {
            xml.append(contentsOf: "    <set>\n      <setSpec>\(member.code)</setSpec>\n      <setName>".utf8)
            MARCXMLWriter.appendEscaped(member.name, into: &xml)
            xml.append(contentsOf: "</setName>\n    </set>\n".utf8)
        }
        xml.append(contentsOf: "  </ListSets>\n".utf8)
        return xml
    }

    private func getRecord(_ identifier: String, prefix: String) throws -> [UInt8] {
        let format = try Self.format(prefix)
        let stamp = try stamp(identifier)
        var xml = Array("  <GetRecord>\n".utf8)
        try appendRecord(stamp, format: format, withMetadata: true, to: &xml)
        xml.append(contentsOf: "  </GetRecord>\n".utf8)
        return xml
    }

    private func list(_ verb: String, _ values: [String: String], withMetadata: Bool) throws -> [UInt8] {
        var position: ListPosition
        if let token = values["resumptionToken"] {
            guard let parsed = ListPosition(token: token) else {
                throw Failure(code: "badResumptionToken", message: "the resumptionToken is not one this repository gave; start the list again")
            }
            position = parsed
        } else {
            let from = try values["from"].map { try Self.parseDate($0, endOfDay: false) }
            let until = try values["until"].map { try Self.parseDate($0, endOfDay: true) }
            if let from, let until {
                guard from.dayOnly == until.dayOnly else {
                    throw Failure(code: "badArgument", message: "from and until must have the same granularity")
                }
                guard from.time <= until.time else { throw Failure(code: "badArgument", message: "from is later than until") }
            }
            let set = values["set"]
            if let set, try store.member(code: set) == nil {
                throw Failure(code: "badArgument", message: "no set \(set): the sets are the members' codes (verb=ListSets)")
            }
            position = ListPosition(
                prefix: values["metadataPrefix"]!, set: set, from: from?.time, until: until?.time, after: nil, cursor: 0,
                total: try store.unionStampCount(from: from?.time, until: until?.time, member: set))
        }
        let format = try Self.format(position.prefix)
        let pageSize = publication.recordsPerResponse * (withMetadata ? 1 : 5)
        let stamps = try store.unionStamps(
            from: position.from, until: position.until, member: position.set, after: position.after, limit: pageSize + 1)
        guard !stamps.isEmpty else {
            if position.after == nil { throw Failure(code: "noRecordsMatch", message: "no record matches these arguments") }
            throw Failure(code: "badResumptionToken", message: "the list this token continued has nothing left; start it again")
        }
        let page = stamps.prefix(pageSize)
        var xml = Array("  <\(verb)>\n".utf8)
        for stamp in page { try appendRecord(stamp, format: format, withMetadata: withMetadata, to: &xml) }
        if stamps.count > pageSize || position.after != nil {
            var next = position
            next.cursor += page.count
            next.after = page.last.map { ($0.updatedAt, $0.id) }
            let token = stamps.count > pageSize ? next.token : ""
            // The list size counted when it started: records changing meanwhile move to its end.
            xml.append(contentsOf: "    <resumptionToken completeListSize=\"\(max(position.total, next.cursor))\" cursor=\"\(position.cursor)\">\(token)</resumptionToken>\n".utf8)
        }
        xml.append(contentsOf: "  </\(verb)>\n".utf8)
        return xml
    }

    // MARK: Records

    enum Format {
        case marc21, dublinCore
    }

    private static func format(_ prefix: String) throws -> Format {
        switch prefix {
        case "marc21", "marcxml": return .marc21
        case "oai_dc": return .dublinCore
        default: throw Failure(code: "cannotDisseminateFormat", message: "\(prefix) is not offered: marc21 (MARCXML) or oai_dc")
        }
    }

    func identifier(_ unionID: Int64) -> String { "oai:\(publication.repositoryIdentifier):\(UnionID.format(unionID))" }

    private func stamp(_ identifier: String) throws -> UnionRecordStamp {
        let prefix = "oai:\(publication.repositoryIdentifier):"
        guard identifier.hasPrefix(prefix), let id = UnionID.parse(String(identifier.dropFirst(prefix.count))),
            let union = try store.unionRecord(id: id)
        else {
            throw Failure(code: "idDoesNotExist", message: "\(identifier) is not an identifier of this repository")
        }
        return UnionRecordStamp(id: union.id, status: union.status, updatedAt: union.updatedAt)
    }

    private func appendRecord(_ stamp: UnionRecordStamp, format: Format, withMetadata: Bool, to xml: inout [UInt8]) throws {
        let union = stamp.status == "active" ? try store.unionRecord(id: stamp.id) : nil
        let record = union.flatMap(MergedRecord.build)
        let deleted = record == nil
        if withMetadata { xml.append(contentsOf: "    <record>\n".utf8) }
        xml.append(contentsOf: (deleted ? "    <header status=\"deleted\">\n" : "    <header>\n").utf8)
        xml.append(contentsOf: "      <identifier>\(identifier(stamp.id))</identifier>\n".utf8)
        xml.append(contentsOf: "      <datestamp>\(Self.datestamp(stamp.updatedAt))</datestamp>\n".utf8)
        if let union {
            for member in Set(union.sources.filter { $0.status == "active" }.map(\.member)).sorted() {
                xml.append(contentsOf: "      <setSpec>\(member)</setSpec>\n".utf8)
            }
        }
        xml.append(contentsOf: "    </header>\n".utf8)
        guard withMetadata else { return }
        if let record {
            xml.append(contentsOf: "    <metadata>\n".utf8)
            switch format {
            case .marc21:
                MARCXMLWriter.write(record, standalone: true, into: &xml)
            case .dublinCore:
                DublinCoreXML.append(
                    record, root: "oai_dc:dc",
                    namespaces: #"xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd""#,
                    into: &xml)
            }
            xml.append(contentsOf: "    </metadata>\n".utf8)
        }
        xml.append(contentsOf: "    </record>\n".utf8)
    }

    // MARK: Envelope

    private func envelope(arguments: [(name: String, value: String)], body: [UInt8]? = nil, failure: Failure? = nil) -> APIResponse {
        var xml = Array(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <OAI-PMH xmlns="\(Self.namespace)" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
              <responseDate>\(Self.datestamp(CatalogStore.now()))</responseDate>
              <request
            """.utf8)
        if failure?.echoArguments ?? true {
            for (name, value) in arguments where Self.argumentNames.contains(name) {
                xml.append(contentsOf: " \(name)=\"".utf8)
                MARCXMLWriter.appendEscaped(value, attribute: true, into: &xml)
                xml.append(0x22)
            }
        }
        xml.append(0x3E)
        MARCXMLWriter.appendEscaped(baseURL, into: &xml)
        xml.append(contentsOf: "</request>\n".utf8)
        if let failure {
            xml.append(contentsOf: "  <error code=\"\(failure.code)\">".utf8)
            MARCXMLWriter.appendEscaped(failure.message, into: &xml)
            xml.append(contentsOf: "</error>\n".utf8)
        } else if let body {
            xml.append(contentsOf: body)
        }
        xml.append(contentsOf: "</OAI-PMH>\n".utf8)
        return APIResponse(status: .ok, contentType: "text/xml; charset=utf-8", body: xml)
    }

    static let argumentNames: Set<String> = ["verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"]

    // MARK: Dates

    static func datestamp(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `YYYY-MM-DD` (the whole day: its start for from, its end for until) or `YYYY-MM-DDThh:mm:ssZ`.
    static func parseDate(_ text: String, endOfDay: Bool) throws -> (time: Int64, dayOnly: Bool) {
        let bad = Failure(code: "badArgument", message: "\(text) is not a date of this repository: YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
        let bytes = Array(text.utf8)
        guard bytes.count == 10 || bytes.count == 20 else { throw bad }
        func number(_ range: Range<Int>) throws -> Int {
            guard range.allSatisfy({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }) else { throw bad }
            return Int(String(decoding: bytes[range], as: UTF8.self))!
        }
        guard bytes[4] == 0x2D, bytes[7] == 0x2D else { throw bad }
        let (year, month, day) = (try number(0..<4), try number(5..<7), try number(8..<10))
        var (hour, minute, second) = endOfDay ? (23, 59, 59) : (0, 0, 0)
        if bytes.count == 20 {
            guard bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A, bytes[19] == 0x5A else { throw bad }
            (hour, minute, second) = (try number(11..<13), try number(14..<16), try number(17..<19))
        }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { throw bad }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let time = timegm(&parts)
        // timegm normalises 31 February into March: such a date is not one.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { throw bad }
        return (Int64(time), bytes.count == 10)
    }
}

/// Where a list stopped: what it lists and the (datestamp, id) of its last item, as an opaque token.
struct ListPosition {
    var prefix: String
    var set: String?
    var from: Int64?
    var until: Int64?
    var after: (updatedAt: Int64, id: Int64)?
    var cursor: Int
    var total: Int

    init(prefix: String, set: String?, from: Int64?, until: Int64?, after: (updatedAt: Int64, id: Int64)?, cursor: Int, total: Int) {
        (self.prefix, self.set, self.from, self.until, self.after, self.cursor, self.total) = (prefix, set, from, until, after, cursor, total)
    }

    var token: String {
        var fields: [String] = ["o1", prefix, set ?? ""]
        fields.append(from.map { String($0) } ?? "")
        fields.append(until.map { String($0) } ?? "")
        fields.append(after.map { String($0.updatedAt) } ?? "")
        fields.append(after.map { String($0.id) } ?? "")
        fields += [String(cursor), String(total)]
        return Data(fields.joined(separator: "|").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    init?(token: String) {
        var text = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard token.count <= 400, let data = Data(base64Encoded: text), let decoded = String(data: data, encoding: .utf8) else { return nil }
        let fields = decoded.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 9, fields[0] == "o1", !fields[1].isEmpty, let updatedAt = Int64(fields[5]), let id = Int64(fields[6]),
            let cursor = Int(fields[7]), let total = Int(fields[8]), cursor > 0, total >= 0
        else { return nil }
        func optional(_ text: String) -> Int64?? { text.isEmpty ? .some(nil) : Int64(text).map { .some($0) } }
        guard let from = optional(fields[3]), let until = optional(fields[4]) else { return nil }
        self.init(
            prefix: fields[1], set: fields[2].isEmpty ? nil : fields[2], from: from, until: until, after: (updatedAt, id), cursor: cursor,
            total: total)
    }
}
