import CMARCTables

/// Turns every record into UTF-8, deciding what its bytes really are.
///
/// MARC21: leader/09 `a` is UTF-8 and blank is MARC-8, but the bytes decide: a blank leader/09 over valid
/// UTF-8 is read as UTF-8, a UTF-8 leader over MARC-8 (escapes, ANSEL diacritics before letters) as MARC-8,
/// and words of 8-bit letters as the legacy code page they score best in. UNIMARC/CNMARC: 100$a/26-29 declares
/// the sets (50 Unicode, 03 ISO 5426, 20 GB 2312, 89/79/99 and 02 Cyrillic code pages); the bytes are checked
/// against it the same way. A transcoded record gets leader/09 `a` (and 100$a/26-29 `50  ` in UNIMARC) and
/// keeps the encoding it came in as ``MARCRecord/encoding``. Disagreements are warnings; characters that
/// could not be decoded are errors, because they are lost.
public final class MARCTranscoder {
    private var marc8 = MARC8Decoder()
    private var iconvDecoders: [MARCEncoding: IconvDecoder] = [:]

    public init() {}

    public typealias Report = (MARCDiagnostic.Severity, MARCDiagnostic.Code, String) -> Void

    /// A record read from MARCXML or MARC-in-JSON is Unicode already; a MARC21 leader/09 that says otherwise is
    /// corrected, with a warning, so the record is not written to ISO 2709 as if it were MARC-8.
    static func alignUnicodeLeader(_ record: inout MARCRecord, report: Report) {
        guard record.encoding == .utf8, record.leader.characterCoding != UInt8(ascii: "a"),
            !record.flavour.isUNIMARCFamily
        else { return }
        report(.warning, .encoding, "leader/09 is '\(Character(Unicode.Scalar(record.leader.characterCoding)))' in a Unicode document; set to 'a'")
        record.leader.characterCoding = UInt8(ascii: "a")
    }

    /// Returns `record` in UTF-8. `record.encoding` must be the byte classification the ISO 2709 parser gives.
    public func transcode(_ record: MARCRecord, report: Report) -> MARCRecord {
        let leader09 = record.leader.characterCoding
        switch record.encoding {
        case .ascii:
            return record
        case .utf8:
            if leader09 == UInt8(ascii: "a") { return record }
            let flavour = record.flavour
            var fixed = record
            if flavour.isUNIMARCFamily {
                if let declared = UNIMARCCharacterSets(record), !declared.isUnicode {
                    report(.warning, .encoding, "100$a/26-29 declares \(declared.description), but the bytes are UTF-8; read as UTF-8")
                }
            } else if leader09 == 0x20 {
                report(.warning, .encoding, "leader/09 is blank (MARC-8), but the bytes are UTF-8; read as UTF-8")
                fixed.leader.characterCoding = UInt8(ascii: "a")
            }
            return fixed
        default:
            break
        }

        let flavour = record.flavour
        let hasEscapes = record.storage.contains(0x1B)
        let chosen: MARCEncoding
        if flavour.isUNIMARCFamily {
            chosen = chooseUNIMARC(record, flavour: flavour, report: report)
        } else if hasEscapes || looksLikeMARC8(record) {
            chosen = .marc8
            if leader09 == UInt8(ascii: "a") {
                report(.warning, .encoding, "leader/09 declares UTF-8, but the bytes are MARC-8; read as MARC-8")
            } else if leader09 != 0x20 {
                report(.warning, .encoding, "leader/09 is '\(Character(Unicode.Scalar(leader09)))'; the bytes are MARC-8")
            }
        } else {
            chosen = guessLegacy(record)
            let declared = leader09 == UInt8(ascii: "a") ? "UTF-8" : "MARC-8"
            report(.warning, .encoding, "leader/09 declares \(declared), but the bytes are \(chosen.rawValue); read as \(chosen.rawValue)")
        }
        return decode(record, as: chosen, flavour: flavour, report: report)
    }

    // MARK: - Deciding

    /// Without escapes, bytes are MARC-8 only if ANSEL (the default G1) maps every 8-bit byte, none come in
    /// runs (code pages for Cyrillic or Chinese make whole words of them), and ANSEL's diacritics (E0-FE) stand
    /// before a letter, as MARC-8 writes them, not after one, as Latin-1's accented letters do.
    private func looksLikeMARC8(_ record: MARCRecord) -> Bool {
        let ansel = Int32(calisd_marc8_set_index(0x45))
        var combining = 0
        var beforeBase = 0
        var plausible = true
        record.storage.withUnsafeBytes { raw in
            for entry in record.entries where plausible {
                var run = 0
                let range = entry.range
                for index in range {
                    let byte = raw[index]
                    guard byte >= 0x80 else {
                        run = 0
                        continue
                    }
                    run += 1
                    if run >= 3 || calisd_marc8_single(ansel, byte) == 0 {
                        plausible = false
                        break
                    }
                    if byte >= 0xE0 && byte <= 0xFE {
                        combining += 1
                        if index + 1 < range.upperBound {
                            let next = raw[index + 1]
                            if (next >= 0x41 && next <= 0x5A) || (next >= 0x61 && next <= 0x7A) || next >= 0xA1 {
                                beforeBase += 1
                            }
                        }
                    }
                }
            }
        }
        return plausible && beforeBase * 2 >= combining
    }

    private func chooseUNIMARC(_ record: MARCRecord, flavour: MARCFlavour, report: Report) -> MARCEncoding {
        let declared = UNIMARCCharacterSets(record)
        // A declaration the bytes fit wins outright.
        if let declared, let expected = declared.legacyEncoding, fits(record, expected) {
            if expected.isCyrillic {
                let best = guessLegacy(record)
                if best.isCyrillic && best != expected {
                    report(.warning, .encoding, "100$a/26-29 declares \(declared.description), but the bytes are \(best.rawValue); read as \(best.rawValue)")
                    return best
                }
            }
            return expected
        }
        let guess = guessLegacy(record, chinese: flavour == .cnmarc)
        let what = declared.map { "100$a/26-29 declares \($0.description)" } ?? "no 100$a/26-29 declares the character set"
        report(.warning, .encoding, "\(what), but the bytes are \(guess.rawValue); read as \(guess.rawValue)")
        return guess
    }

    /// Whether the 8-bit bytes read cleanly as `encoding`.
    private func fits(_ record: MARCRecord, _ encoding: MARCEncoding) -> Bool {
        let sample = highByteFields(record)
        switch encoding {
        case .iso5426:
            // Every 8-bit byte is in the table, and every combining mark sits before a letter or another mark.
            for (index, byte) in sample.enumerated() where byte >= 0x80 {
                let value = calisd_iso5426(byte)
                if value == 0 { return false }
                if value & 0x8000_0000 != 0 {
                    guard index + 1 < sample.count, sample[index + 1] > 0x20 else { return false }
                }
            }
            return true
        case .gb18030:
            guard let decoder = decoder(for: .gb18030) else { return false }
            var output: [UInt8] = []
            return decoder.decode(sample[...], into: &output) == 0
        default:
            return encoding.isCyrillic && guessLegacy(record).isCyrillic
        }
    }

    private func highByteFields(_ record: MARCRecord) -> [UInt8] {
        var sample: [UInt8] = []
        record.storage.withUnsafeBytes { raw in
            for entry in record.entries where raw[entry.range].contains(where: { $0 >= 0x80 }) {
                sample.append(contentsOf: raw[entry.range])
                sample.append(0x20)
            }
        }
        return sample
    }

    /// Scores the 8-bit bytes in the candidate code pages and keeps the one that reads most like text.
    private func guessLegacy(_ record: MARCRecord, chinese: Bool = false) -> MARCEncoding {
        let sample = highByteFields(record)
        let highCount = sample.reduce(0) { $0 + ($1 >= 0x80 ? 1 : 0) }
        // Chinese text is pairs of 8-bit bytes; a lone 8-bit byte between ASCII letters is a Latin accent.
        var pairedHigh = 0
        var index = 0
        while index < sample.count {
            if sample[index] >= 0x81, index + 1 < sample.count, sample[index + 1] >= 0x80 {
                pairedHigh += 2
                index += 2
            } else {
                index += 1
            }
        }
        if pairedHigh * 10 >= highCount * 9, let gb = decoder(for: .gb18030) {
            var output: [UInt8] = []
            let invalid = gb.decode(sample[...], into: &output)
            let han = String(decoding: output, as: UTF8.self).unicodeScalars.reduce(0) {
                $0 + ((0x4E00...0x9FFF).contains($1.value) || (0x3000...0x303F).contains($1.value)
                    || (0xFF00...0xFFEF).contains($1.value) ? 1 : 0)
            }
            // Two bytes per Han character: most of the 8-bit bytes must make Han for GB to win.
            if invalid == 0 && han * 2 * 10 >= highCount * (chinese ? 6 : 8) { return .gb18030 }
        }
        var best = MARCEncoding.windows1252
        var bestScore = 0
        for candidate in [MARCEncoding.windows1251, .cp866, .koi8r, .iso8859_5] {
            guard let decoder = decoder(for: candidate) else { continue }
            var output: [UInt8] = []
            decoder.decode(sample[...], into: &output)
            // Cyrillic letters next to other Cyrillic letters, the frequent lower-case ones counting double: an
            // accented letter inside a Latin word scores nothing.
            let scalars = Array(String(decoding: output, as: UTF8.self).unicodeScalars)
            func isCyrillic(_ index: Int) -> Bool {
                index >= 0 && index < scalars.count && (0x0410...0x044F).contains(scalars[index].value)
            }
            var score = 0
            for index in scalars.indices where isCyrillic(index) && (isCyrillic(index - 1) || isCyrillic(index + 1)) {
                score += "оеаинтсрвл".unicodeScalars.contains(scalars[index]) ? 2 : 1
            }
            if score > bestScore {
                bestScore = score
                best = candidate
            }
        }
        return bestScore * 2 >= highCount ? best : .windows1252
    }

    private func decoder(for encoding: MARCEncoding) -> IconvDecoder? {
        if let existing = iconvDecoders[encoding] { return existing }
        let name: String
        switch encoding {
        case .gb18030: name = "GB18030"
        case .windows1251: name = "CP1251"
        case .cp866: name = "CP866"
        case .koi8r: name = "KOI8-R"
        case .iso8859_5: name = "ISO-8859-5"
        case .windows1252: name = "CP1252"
        default: return nil
        }
        let decoder = IconvDecoder(from: name)
        iconvDecoders[encoding] = decoder
        return decoder
    }

    // MARK: - Decoding

    private func decode(_ record: MARCRecord, as encoding: MARCEncoding, flavour: MARCFlavour, report: Report)
        -> MARCRecord
    {
        var result = MARCRecord(leader: record.leader)
        var lost = 0
        var problems: [String] = []
        var iso5426 = ISO5426Decoder()
        let iconvDecoder = decoder(for: encoding)
        for entry in record.entries {
            let data = record.storage[entry.range]
            var bytes: [UInt8] = []
            bytes.reserveCapacity(data.count + data.count / 2)
            let text: ArraySlice<UInt8>
            if entry.isControl {
                text = data
            } else {
                // Indicators are ASCII; an 8-bit byte there is no character of any set and cannot stay raw.
                for indicator in data.prefix(2) {
                    if indicator >= 0x80 {
                        lost += 1
                        if problems.count < 3 { problems.append("field \(entry.tag): an 8-bit indicator became a blank") }
                        bytes.append(0x20)
                    } else {
                        bytes.append(indicator)
                    }
                }
                text = data.dropFirst(2)
            }
            switch encoding {
            case .marc8:
                marc8.problems.removeAll(keepingCapacity: true)
                marc8.repairs.removeAll(keepingCapacity: true)
                marc8.decodeField(text, into: &bytes)
                if !marc8.problems.isEmpty {
                    lost += marc8.problems.count
                    if problems.count < 3 { problems.append("field \(entry.tag): \(marc8.problems[0])") }
                }
                if let repair = marc8.repairs.first {
                    report(.warning, .encoding, "field \(entry.tag): \(repair)")
                }
            case .iso5426:
                let before = iso5426.unmapped
                iso5426.decode(text, into: &bytes)
                if iso5426.unmapped > before && problems.count < 3 {
                    problems.append("field \(entry.tag): a byte with no ISO 5426 mapping")
                }
            default:
                let invalid = iconvDecoder?.decode(text, into: &bytes) ?? text.count
                if invalid > 0 {
                    lost += invalid
                    if problems.count < 3 { problems.append("field \(entry.tag): \(invalid) byte(s) are not \(encoding.rawValue)") }
                }
            }
            let start = result.storage.count
            result.storage.append(contentsOf: bytes)
            result.entries.append(FieldEntry(tag: entry.tag, isControl: entry.isControl, start: start, end: result.storage.count))
        }
        lost += iso5426.unmapped
        if lost > 0 {
            report(.error, .encoding, "\(lost) character(s) could not be decoded from \(encoding.rawValue) and became U+FFFD: \(problems.joined(separator: "; "))")
        }
        result.leader.characterCoding = UInt8(ascii: "a")
        if flavour.isUNIMARCFamily { result.declareUnicodeIn100() }
        result.encoding = encoding
        return result
    }
}

extension MARCEncoding {
    var isCyrillic: Bool { [.windows1251, .cp866, .koi8r, .iso8859_5].contains(self) }
}

/// The character sets UNIMARC 100$a/26-29 declares: G0 in 26-27, G1 in 28-29.
struct UNIMARCCharacterSets: CustomStringConvertible {
    let g0: String
    let g1: String

    init?(_ record: MARCRecord) {
        guard let coded = record.first("100")?.subfield("a"), coded.utf8.count >= 30 else { return nil }
        let bytes = Array(coded.utf8)
        g0 = String(decoding: bytes[26..<28], as: UTF8.self)
        g1 = String(decoding: bytes[28..<30], as: UTF8.self)
    }

    var isUnicode: Bool { g0 == "50" || g1 == "50" }
    var isCyrillic: Bool { ["02", "04", "79", "89", "99"].contains(g1) || ["02", "04"].contains(g0) }

    var legacyEncoding: MARCEncoding? {
        switch g1 {
        case "03": return .iso5426
        case "89": return .windows1251
        case "79": return .cp866
        case "99": return .koi8r
        case "02", "04": return .iso8859_5
        case "20", "30", "21": return .gb18030
        default: return g0 == "03" ? .iso5426 : nil
        }
    }

    var description: String { "\"\(g0)\(g1)\"" }
}

extension MARCRecord {
    /// Rewrites 100$a/26-29 to `50  ` (ISO 10646) after transcoding a UNIMARC record.
    mutating func declareUnicodeIn100() {
        guard let index = entries.firstIndex(where: { $0.tag == "100" && !$0.isControl }) else { return }
        let range = entries[index].range
        guard let delimiter = storage[range].firstIndex(of: MARCDelimiter.subfield),
            delimiter + 1 < range.upperBound, storage[delimiter + 1] == UInt8(ascii: "a")
        else { return }
        let valueStart = delimiter + 2
        guard valueStart + 30 <= range.upperBound,
            !storage[valueStart..<(valueStart + 30)].contains(MARCDelimiter.subfield)
        else { return }
        storage.replaceSubrange((valueStart + 26)..<(valueStart + 30), with: Array("50  ".utf8))
        knownSubfieldCount = nil
    }
}
