import Dedup
import MARC
import NIOHTTP1
import Store

/// The union record as one MARC record for copy cataloguing: the master, with the union id as its 001 (its 003
/// dropped), the master's own id kept in a 035 as `(MEMBER)LOCALID`, and the identifiers only other members' records carry (ISBN, ISSN, system
/// numbers of the same MARC family) added in tag order.
enum MergedRecord {
    static func build(_ union: UnionRecordView) -> MARCRecord? {
        guard let masterView = union.sources.first(where: { $0.id == union.masterID }) ?? union.sources.first,
            let master = read(masterView.record)
        else { return nil }
        let unimarc = master.flavour.isUNIMARCFamily
        let isbnTag: MARCTag = unimarc ? "010" : "020"
        let issnTag: MARCTag = unimarc ? "011" : "022"
        var seenISBN = Set(master.all(isbnTag).compactMap { $0.subfield("a").flatMap(Identifiers.isbn13) })
        var seenISSN = Set(master.all(issnTag).compactMap { $0.subfield("a").flatMap(Identifiers.issn) })
        var seen035 = Set(master.all("035").compactMap { $0.subfield("a")?.trimmingSpaces }.map(String.init))
        var extras: [MARCField] = []
        for view in union.sources where view.id != masterView.id {
            guard let other = read(view.record), other.flavour.isUNIMARCFamily == unimarc else { continue }
            for field in other.all(isbnTag) {
                if let isbn = field.subfield("a").flatMap(Identifiers.isbn13), seenISBN.insert(isbn).inserted { extras.append(field) }
            }
            for field in other.all(issnTag) {
                if let issn = field.subfield("a").flatMap(Identifiers.issn), seenISSN.insert(issn).inserted { extras.append(field) }
            }
            for field in other.all("035") {
                if let value = field.subfield("a")?.trimmingSpaces, seen035.insert(String(value)).inserted { extras.append(field) }
            }
        }
        // The master's own number, under its member's code: the member assigned it, whatever 003 it kept.
        let system = masterView.member
        var ownID = MARCRecord(leader: master.leader)
        ownID.appendDataField("035", subfields: [(UInt8(ascii: "a"), "(\(system))\(masterView.localID)")])
        if seen035.insert("(\(system))\(masterView.localID)").inserted { extras += ownID.fields }

        var merged = MARCRecord(leader: master.leader)
        merged.appendControlField("001", value: UnionID.format(union.id))
        // Each extra goes after the last master field whose tag is not above its own.
        let kept = master.fields.filter { $0.tag != "001" && $0.tag != "003" }
        var slots = kept.enumerated().map { (key: Double($0.offset), field: $0.element) }
        for (order, extra) in extras.enumerated() {
            let after = kept.lastIndex { $0.tag <= extra.tag } ?? -1
            slots.append((Double(after) + 0.5 + Double(order) * 1e-6, extra))
        }
        for slot in slots.sorted(by: { $0.key < $1.key }) { merged.append(slot.field) }
        return merged
    }

    static func read(_ bytes: [UInt8]) -> MARCRecord? {
        guard !bytes.isEmpty, let reader = try? MARCReaders.open(bytes: bytes).reader, let item = try? reader.next() else { return nil }
        return item.record
    }
}

/// What a record route answers in: JSON (the default), MARCXML or ISO 2709, chosen by `?format=` or `Accept`.
enum RecordFormat: Equatable {
    case json, marcxml, iso2709

    static func requested(_ request: APIRequest) throws -> RecordFormat {
        if let format = request.query["format"] {
            switch format.lowercased() {
            case "json": return .json
            case "marcxml", "xml": return .marcxml
            case "iso2709", "marc", "mrc": return .iso2709
            default: throw APIError.badRequest("format: json, marcxml or iso2709")
            }
        }
        guard let accept = request.headers.first(name: "Accept")?.lowercased(), !accept.isEmpty else { return .json }
        if accept.contains("application/marcxml+xml") || accept.contains("application/xml") { return .marcxml }
        if accept.contains("application/marc") { return .iso2709 }
        if accept.contains("application/json") || accept.contains("*/*") { return .json }
        throw APIError(
            .notAcceptable, "not_acceptable", "records come as application/json, application/marcxml+xml or application/marc")
    }

    func response(_ record: MARCRecord) throws -> APIResponse {
        var bytes: [UInt8] = []
        switch self {
        case .json:
            return APIResponse.error(.internalServerError, "internal", "JSON is answered elsewhere")
        case .marcxml:
            let writer = MARCStreamWriter(format: .marcxml)
            writer.writeHeader(into: &bytes)
            try writer.write(record, into: &bytes)
            writer.writeFooter(into: &bytes)
            return APIResponse(status: .ok, contentType: "application/marcxml+xml; charset=utf-8", body: bytes)
        case .iso2709:
            try ISO2709Writer.write(record, into: &bytes)
            return APIResponse(status: .ok, contentType: "application/marc", body: bytes)
        }
    }
}
