// Compiled into one module with Sources/MARC by ./run, so nothing is imported.

/// One fuzz input goes through every reader (ISO 2709, MARCXML, MARC-in-JSON, and detection with gzip), every
/// writer, a round trip, and every decoder (MARC-8, ISO 5426, and the transcoder's choice among the legacy
/// encodings). A crash, a hang, or a broken invariant is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    drain(ISO2709Reader(source: MemoryByteSource(bytes), bufferSize: 16 << 10), checkRoundTrip: true)
    drain(MARCXMLReader(source: MemoryByteSource(bytes)), checkRoundTrip: false)
    drain(MARCJSONReader(source: MemoryByteSource(bytes), bufferSize: 16 << 10), checkRoundTrip: false)
    if let opened = try? MARCReaders.open(bytes: bytes) { drain(opened.reader, checkRoundTrip: false) }
    fuzzDecoders(bytes)
    return 0
}

/// One transcoder for every run: opening iconv converters each time would dominate the fuzzer's time.
nonisolated(unsafe) private let sharedTranscoder = MARCTranscoder()

/// The input as the text of a field, under each leader and 100 declaration the transcoder distinguishes.
private func fuzzDecoders(_ bytes: [UInt8]) {
    var marc8 = MARC8Decoder()
    var output: [UInt8] = []
    marc8.decodeField(bytes[...], into: &output)
    if UTF8Validation.classify(output) == .unknown8bit { fatalError("MARC-8 decoding produced invalid UTF-8") }
    var iso5426 = ISO5426Decoder()
    output.removeAll()
    iso5426.decode(bytes[...], into: &output)
    if UTF8Validation.classify(output) == .unknown8bit { fatalError("ISO 5426 decoding produced invalid UTF-8") }

    let text = bytes.filter { $0 != 0x1D && $0 != 0x1E && $0 != 0x1F }
    for (leader, coded) in [
        ("00000nam  2200000 a 4500", nil), ("00000nam a2200000 a 4500", nil),
        ("00000nam0 2200000   450 ", "20020204d1994    em y0chiy0120    ea"),
        ("00000nam0 2200000   450 ", "20020204d1994    em y0frey0103    ba"),
    ] as [(String, String?)] {
        var record = MARCRecord(leader: Leader(leader))
        record.appendControlField("001", value: "fuzz")
        if let coded { record.appendDataField("100", subfields: [(UInt8(ascii: "a"), coded)]) }
        var builder = DataFieldBuilder(indicators: (0x31, 0x30))
        builder.append(code: UInt8(ascii: "a"), value: text)
        record.appendDataField(coded == nil ? "245" : "200", builder: builder)
        guard let iso = try? ISO2709Writer.data(record) else { continue }
        let item = ISO2709Parser.parse(iso, transcoder: sharedTranscoder)
        if let decoded = item.record, UTF8Validation.classify(decoded.storage) == .unknown8bit {
            fatalError("a transcoded record is not valid UTF-8")
        }
    }
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
