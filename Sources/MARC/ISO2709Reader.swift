/// Reads ISO 2709 records from a stream, leniently.
///
/// Framing trusts the leader's record length when it lands on a record terminator, and otherwise looks for
/// the terminator itself; each framed record is then parsed by ``ISO2709Parser``. Bytes that are not a
/// record are reported, never silently skipped, and a good record after a bad one is always kept.
public final class ISO2709Reader: MARCRecordReader {
    /// The largest record the reader will look for a terminator in before giving up on it.
    public static let maximumRecordBytes = 16 << 20

    private let window: InputWindow
    private var recordNumber = 0
    private var finished = false
    /// Nil when records are to be given back in the bytes they arrived in (the fuzzer's round trip).
    private let transcoder: MARCTranscoder?

    /// - Parameters:
    ///   - bufferSize: how much to read at a time; the window grows past it for larger records.
    ///   - transcode: turn records in MARC-8 and other legacy encodings into UTF-8 (the default).
    public init(source: any ByteSource, bufferSize: Int = 1 << 20, transcode: Bool = true) {
        window = InputWindow(source: source, capacity: max(bufferSize, 4096))
        transcoder = transcode ? MARCTranscoder() : nil
    }

    public func next() throws -> MARCReadItem? {
        guard !finished else { return nil }
        var framing: [MARCDiagnostic] = []

        let strayStart = window.offset
        let stray = try skipStrayBytes()
        guard try window.require(1) else {
            finished = true
            return endOfInputItem(strayCount: stray, strayStart: strayStart)
        }
        recordNumber += 1
        let recordOffset = window.offset
        if stray > 0 {
            framing.append(
                MARCDiagnostic(
                    .warning, .strayBytes, "\(stray) stray byte(s) before the record were skipped",
                    recordNumber: recordNumber, byteOffset: strayStart))
        }

        guard try window.require(Leader.length) else {
            // Fewer bytes than a leader before the end: the tail of a truncated record or junk.
            let bytes = window.copy(window.start..<window.end)
            window.consume(bytes.count)
            finished = window.containerError == nil
            framing.append(
                MARCDiagnostic(
                    .error, .truncated, "input ends after \(bytes.count) byte(s), too few for a record",
                    recordNumber: recordNumber, byteOffset: recordOffset))
            appendContainerError(to: &framing)
            return MARCReadItem(
                record: nil, diagnostics: framing, recordNumber: recordNumber, byteOffset: recordOffset,
                rawBytes: bytes)
        }

        let length = try frameRecord(diagnostics: &framing, recordOffset: recordOffset)
        let start = window.start
        let bytes = window.copy(start..<(start + length))
        window.consume(length)
        if window.atEnd && window.available == 0 { appendContainerError(to: &framing) }
        return ISO2709Parser.parse(
            bytes, recordNumber: recordNumber, byteOffset: recordOffset, framingDiagnostics: framing,
            transcoder: transcoder)
    }

    /// Skips line ends, blanks, NULs and stray terminators between records; returns how many.
    private func skipStrayBytes() throws -> Int {
        var skipped = 0
        while true {
            if window.available == 0 {
                guard try window.readMore() else { return skipped }
            }
            let byte = window.byte(at: window.start)
            switch byte {
            case 0x0A, 0x0D, 0x20, 0x09, 0x00, 0x1A, MARCDelimiter.record, MARCDelimiter.field:
                window.consume(1)
                skipped += 1
            default:
                return skipped
            }
        }
    }

    private func endOfInputItem(strayCount: Int, strayStart: Int64) -> MARCReadItem? {
        var diagnostics: [MARCDiagnostic] = []
        if strayCount > 0 {
            diagnostics.append(
                MARCDiagnostic(
                    .warning, .strayBytes, "\(strayCount) stray byte(s) after the last record were skipped",
                    recordNumber: recordNumber, byteOffset: strayStart))
        }
        appendContainerError(to: &diagnostics)
        guard !diagnostics.isEmpty else { return nil }
        // A diagnostic with no record of its own: the reader reports it on an empty item after the last record.
        return MARCReadItem(
            record: nil, diagnostics: diagnostics, recordNumber: recordNumber, byteOffset: strayStart)
    }

    private func appendContainerError(to diagnostics: inout [MARCDiagnostic]) {
        guard let error = window.containerError else { return }
        window.containerError = nil
        diagnostics.append(
            MARCDiagnostic(
                .error, .gzip, error.message, recordNumber: recordNumber, byteOffset: error.byteOffset ?? 0))
    }

    /// Decides how many bytes from the window's start make this record.
    private func frameRecord(diagnostics: inout [MARCDiagnostic], recordOffset: Int64) throws -> Int {
        let declared = decimal(at: 0, count: 5)
        // 99999 is what systems write when a record is larger than ISO 2709 can say: find its terminator instead.
        if let declared, declared >= Leader.length + 2, declared < 99_999 {
            if try window.require(declared) {
                if window.byte(at: window.start + declared - 1) == MARCDelimiter.record {
                    return declared
                }
                // The length is wrong, or the terminator is missing. An earlier terminator followed by
                // another record means the length is too long; a record starting right at the declared
                // length means only the terminator is missing.
                if let early = try window.find(
                    MARCDelimiter.record, from: window.start + Leader.length, limit: declared - 1)
                {
                    let actual = early + 1 - window.start
                    guard try looksLikeRecordStart(at: actual) else {
                        if try looksLikeRecordStart(at: declared) {
                            diagnostics.append(
                                MARCDiagnostic(
                                    .warning, .recordTerminator, "record terminator missing at the declared length",
                                    recordNumber: recordNumber, byteOffset: recordOffset))
                            return declared
                        }
                        diagnostics.append(
                            MARCDiagnostic(
                                .warning, .recordLength,
                                "leader gives record length \(declared), the record terminator comes at \(actual)",
                                recordNumber: recordNumber, byteOffset: recordOffset))
                        return actual
                    }
                    diagnostics.append(
                        MARCDiagnostic(
                            .warning, .recordLength,
                            "leader gives record length \(declared), the record terminator comes at \(actual)",
                            recordNumber: recordNumber, byteOffset: recordOffset))
                    return actual
                }
                if try looksLikeRecordStart(at: declared) {
                    diagnostics.append(
                        MARCDiagnostic(
                            .warning, .recordTerminator, "record terminator missing at the declared length",
                            recordNumber: recordNumber, byteOffset: recordOffset))
                    return declared
                }
            }
        }
        // Look for the terminator itself.
        if let terminator = try window.find(
            MARCDelimiter.record, from: window.start + Leader.length, limit: Self.maximumRecordBytes)
        {
            let actual = terminator + 1 - window.start
            if actual > 99_999 {
                diagnostics.append(
                    MARCDiagnostic(
                        .warning, .oversize, "record is \(actual) bytes, over the 99,999 ISO 2709 can declare",
                        recordNumber: recordNumber, byteOffset: recordOffset))
            } else {
                let given = declared.map { "\($0)" } ?? "no number"
                diagnostics.append(
                    MARCDiagnostic(
                        .warning, .recordLength,
                        "leader gives record length \(given), the record terminator comes at \(actual)",
                        recordNumber: recordNumber, byteOffset: recordOffset))
            }
            return actual
        }
        if window.atEnd {
            let actual = window.available
            // The declared length fits in what is left: only the terminator is missing at the very end.
            if let declared, declared == actual {
                diagnostics.append(
                    MARCDiagnostic(
                        .warning, .recordTerminator, "the last record has no record terminator",
                        recordNumber: recordNumber, byteOffset: recordOffset))
                return actual
            }
            let expected = declared.map { ", the leader declares \($0)" } ?? ""
            diagnostics.append(
                MARCDiagnostic(
                    .error, .truncated, "input ends inside the record after \(actual) byte(s)\(expected)",
                    recordNumber: recordNumber, byteOffset: recordOffset))
            return actual
        }
        diagnostics.append(
            MARCDiagnostic(
                .error, .unreadable, "no record terminator within \(Self.maximumRecordBytes) bytes",
                recordNumber: recordNumber, byteOffset: recordOffset))
        return min(window.available, Self.maximumRecordBytes)
    }

    /// A leader starts here: five digits of length and five of base address, or the end of the input.
    private func looksLikeRecordStart(at relative: Int) throws -> Bool {
        if try !window.require(relative + 1) { return true }
        if try !window.require(relative + Leader.length) {
            // Only line ends and padding left: the input ends here.
            return (window.start + relative..<window.end).allSatisfy {
                [0x0A, 0x0D, 0x20, 0x00, 0x1A].contains(window.byte(at: $0))
            }
        }
        // Lengths and base address are digits, and the directory's first entry is a tag, a length and a start.
        guard decimal(at: relative, count: 5) != nil, decimal(at: relative + 12, count: 5) != nil else { return false }
        guard try window.require(relative + Leader.length + 12) else { return true }
        return decimal(at: relative + Leader.length + 3, count: 9) != nil
    }

    private func decimal(at relative: Int, count: Int) -> Int? {
        var value = 0
        for index in 0..<count {
            let byte = window.byte(at: window.start + relative + index)
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte &- 0x30)
        }
        return value
    }
}
