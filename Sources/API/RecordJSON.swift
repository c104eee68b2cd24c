import MARC
import Store

/// Union record answers (`GET /v1/records/{id}`, identifier lookups) written straight to bytes: the document
/// `UnionRecordBody` describes, keys in sorted order, absent values left out, each member's record as the codec's
/// MARC-in-JSON. JSONEncoder, going through a generic JSON value for every field and subfield, was a third of a
/// request's time.
enum RecordJSON {
    static func union(_ view: UnionRecordView, holdings: [HoldingView] = [], staleBefore: Int64 = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4_096)
        writeUnion(view, holdings: holdings, staleBefore: staleBefore, into: &bytes)
        bytes.append(0x0A)
        return bytes
    }

    /// `{"records":[…]}`, each without holdings.
    static func list(_ views: [UnionRecordView]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4_096 * max(views.count, 1))
        bytes.append(contentsOf: #"{"records":["#.utf8)
        for (index, view) in views.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            writeUnion(view, holdings: [], staleBefore: 0, into: &bytes)
        }
        bytes.append(contentsOf: "]}\n".utf8)
        return bytes
    }

    private static func writeUnion(_ view: UnionRecordView, holdings: [HoldingView], staleBefore: Int64, into bytes: inout [UInt8]) {
        var object = Members()
        bytes.append(UInt8(ascii: "{"))
        object.string("created_at", Bodies.timestamp(view.createdAt), &bytes)
        object.array("holdings", holdings, &bytes) { holding, bytes in writeHolding(holding, staleBefore: staleBefore, into: &bytes) }
        object.string("id", UnionID.format(view.id), &bytes)
        object.key("identifiers", &bytes)
        let identifiers = Bodies.identifiers(view)
        var kinds = Members()
        bytes.append(UInt8(ascii: "{"))
        for kind in identifiers.keys.sorted() {
            kinds.array(kind, identifiers[kind] ?? [], &bytes) { value, bytes in MARCJSONWriter.writeString(value, into: &bytes) }
        }
        bytes.append(UInt8(ascii: "}"))
        if let master = view.sources.first(where: { $0.id == view.masterID }) {
            object.string("master", "\(master.member):\(master.localID)", &bytes)
        }
        object.array("members", Bodies.members(view), &bytes) { member, bytes in MARCJSONWriter.writeString(member, into: &bytes) }
        if let redirect = view.redirectTo { object.string("redirect_to", UnionID.format(redirect), &bytes) }
        object.array("sources", view.sources, &bytes) { source, bytes in writeSource(source, into: &bytes) }
        object.string("status", view.status, &bytes)
        object.string("updated_at", Bodies.timestamp(view.updatedAt), &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    private static func writeSource(_ view: SourceRecordView, into bytes: inout [UInt8]) {
        var object = Members()
        bytes.append(UInt8(ascii: "{"))
        if let file = view.fileID { object.integer("file", file, &bytes) }
        object.string("flavour", view.flavour, &bytes)
        object.string("local_id", view.localID, &bytes)
        object.bool("locked", view.locked, &bytes)
        object.string("member", view.member, &bytes)
        object.string("original_encoding", view.originalEncoding, &bytes)
        // An unreadable stored record is left out, as the body type allows.
        if let record = MergedRecord.read(view.record) {
            object.key("record", &bytes)
            MARCJSONWriter.writeObject(record, into: &bytes)
        }
        object.string("status", view.status, &bytes)
        if let union = view.unionID { object.string("union_id", UnionID.format(union), &bytes) }
        object.string("updated_at", Bodies.timestamp(view.updatedAt), &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    private static func writeHolding(_ view: HoldingView, staleBefore: Int64, into bytes: inout [UInt8]) {
        var object = Members()
        bytes.append(UInt8(ascii: "{"))
        if let callNumber = view.callNumber { object.string("call_number", callNumber, &bytes) }
        object.string("confirmed_at", Bodies.timestamp(view.confirmedAt), &bytes)
        object.string("holder", view.holder, &bytes)
        if let items = view.items { object.integer("items", Int64(items), &bytes) }
        if let location = view.location { object.string("location", location, &bytes) }
        object.key("source", &bytes)
        var source = Members()
        bytes.append(UInt8(ascii: "{"))
        source.string("bib_local_id", view.bibLocalID, &bytes)
        if let file = view.fileID { source.integer("file", file, &bytes) }
        source.string("kind", view.sourceKind, &bytes)
        source.string("local_id", view.sourceLocalID, &bytes)
        source.string("member", view.bibMember, &bytes)
        source.string("received_at", Bodies.timestamp(view.receivedAt), &bytes)
        bytes.append(UInt8(ascii: "}"))
        object.bool("stale", view.confirmedAt < staleBefore, &bytes)
        if let summary = view.summary { object.string("summary", summary, &bytes) }
        if let union = view.unionID { object.string("union_id", UnionID.format(union), &bytes) }
        bytes.append(UInt8(ascii: "}"))
    }

    /// The members of one JSON object, written in the order given (the callers give them sorted), with commas
    /// between; `{` and `}` are the caller's.
    private struct Members {
        private var first = true

        mutating func key(_ name: String, _ bytes: inout [UInt8]) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            MARCJSONWriter.writeString(name, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: String, _ value: String, _ bytes: inout [UInt8]) {
            key(name, &bytes)
            MARCJSONWriter.writeString(value, into: &bytes)
        }

        mutating func integer(_ name: String, _ value: Int64, _ bytes: inout [UInt8]) {
            key(name, &bytes)
            bytes.append(contentsOf: String(value).utf8)
        }

        mutating func bool(_ name: String, _ value: Bool, _ bytes: inout [UInt8]) {
            key(name, &bytes)
            bytes.append(contentsOf: (value ? "true" : "false").utf8)
        }

        mutating func array<Element>(_ name: String, _ elements: [Element], _ bytes: inout [UInt8], _ write: (Element, inout [UInt8]) -> Void) {
            key(name, &bytes)
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element, &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }
}
