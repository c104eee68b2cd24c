// Compiled into one module with Sources/MARC by ./run, so nothing is imported.

/// One fuzz input goes through every reader (ISO 2709, MARCXML, MARC-in-JSON, and detection with gzip), every
/// writer, and a round trip. A crash, a hang, or a broken invariant is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    drain(ISO2709Reader(source: MemoryByteSource(bytes), bufferSize: 16 << 10), checkRoundTrip: true)
    drain(MARCXMLReader(source: MemoryByteSource(bytes)), checkRoundTrip: false)
    drain(MARCJSONReader(source: MemoryByteSource(bytes), bufferSize: 16 << 10), checkRoundTrip: false)
    if let opened = try? MARCReaders.open(bytes: bytes) { drain(opened.reader, checkRoundTrip: false) }
    return 0
}

private func drain(_ reader: any MARCRecordReader, checkRoundTrip: Bool) {
    var items = 0
    while let item = try? reader.next() {
        items += 1
        // More items than input bytes would mean the reader is not moving forward.
        if items > 1_000_000 { fatalError("reader does not end") }
        guard let record = item.record else {
            if item.diagnostics.isEmpty { fatalError("an item with neither a record nor a diagnostic") }
            continue
        }
        _ = record.flavour
        _ = record.subfieldCount
        for field in record.fields {
            _ = field.value
            for subfield in field.subfields { _ = subfield.value }
        }
        var output: [UInt8] = []
        MARCJSONWriter.write(record, into: &output)
        MARCXMLWriter.write(record, standalone: true, into: &output)
        MARCTextWriter.write(record, into: &output)
        guard let iso = try? ISO2709Writer.data(record) else { continue }
        // A record read cleanly must come back from our own ISO 2709 the same, with nothing to report.
        if checkRoundTrip && item.diagnostics.isEmpty {
            let again = ISO2709Parser.parse(iso)
            guard let back = again.record, again.diagnostics.isEmpty else {
                fatalError("a clean record did not re-read cleanly: \(again.diagnostics)")
            }
            if !zip(back.fields, record.fields).allSatisfy({ $0.tag == $1.tag && $0.data == $1.data })
                || back.fieldCount != record.fieldCount
            {
                fatalError("a clean record changed through ISO 2709")
            }
        }
    }
}
