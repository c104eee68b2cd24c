import Holdings
import MARC
import Search
import Store

/// Decides, for each item a reader yields, whether it is stored (with its warnings) or rejected (with why).
enum RecordTriage {
    enum Outcome {
        case store(IncomingRecord, warnings: [FileProblem])
        case reject(FileProblem)
    }

    static let bibliographicTypes = Set("abcdefgijklmoprt".utf8)

    /// Authority, holdings, classification and community records (MARC21); authority records (UNIMARC).
    static func nonBibliographicTypes(unimarc: Bool) -> Set<UInt8> {
        unimarc ? Set("xyz".utf8) : Set("uvxyzwq".utf8)
    }

    static func triage(_ item: MARCReadItem, keys: (MARCRecord) -> [MatchKey]) -> Outcome {
        let number = item.recordNumber
        guard let record = item.record else {
            return .reject(problem(number, nil, reasons(item, .error), item.rawBytes))
        }
        let localID = record.controlNumber.map { String($0.trimmingSpaces) }
        if item.hasErrors {
            return .reject(problem(number, localID, reasons(item, .error), item.rawBytes ?? (try? ISO2709Writer.data(record))))
        }
        let type = record.leader.typeOfRecord
        let unimarc = record.flavour.isUNIMARCFamily
        var typeWarning: FileProblem?
        if HoldingsExtractor.isHoldingsRecord(record) {
            return holdingsRecord(record, item: item, localID: localID)
        }
        if nonBibliographicTypes(unimarc: unimarc).contains(type) {
            let reason = nonBibliographicReason(type, unimarc: unimarc)
            return .reject(problem(number, localID, reason, item.rawBytes ?? (try? ISO2709Writer.data(record))))
        } else if !bibliographicTypes.contains(type) {
            // Not a known type at all: nothing says it is not bibliographic, so it is kept, and the member told.
            typeWarning = FileProblem(
                recordNumber: number, localID: localID, severity: .warning,
                reason: "leader/06 '\(Character(Unicode.Scalar(type)))' is not a type of record; stored as bibliographic")
        }
        guard let localID, !localID.isEmpty else {
            return .reject(problem(number, nil, "no 001: a member's record needs its local id", item.rawBytes ?? (try? ISO2709Writer.data(record))))
        }
        let bytes: [UInt8]
        do {
            bytes = try ISO2709Writer.data(record)
        } catch {
            return .reject(problem(number, localID, "cannot be stored as ISO 2709: \(error.message)", item.rawBytes))
        }
        let deleted = record.leader.recordStatus == UInt8(ascii: "d")
        var incoming = IncomingRecord(
            localID: localID, flavour: record.flavour.rawValue, originalEncoding: record.encoding.rawValue, record: bytes,
            deleted: deleted, keys: deleted ? [] : keys(record), quality: RecordQuality.of(record),
            holdings: deleted ? [] : HoldingsExtractor.holdings(of: record))
        incoming.recordNumber = number
        if !deleted { incoming.search = SearchText.of(record) }
        let warnings = (typeWarning.map { [$0] } ?? []) + item.diagnostics.filter { $0.severity == .warning }.map {
            FileProblem(recordNumber: number, localID: localID, severity: .warning, reason: "\($0.code): \($0.message)")
        }
        return .store(incoming, warnings: warnings)
    }

    /// A MARC21 holdings record (MFHD): stored as holdings of the member's bib its 004 (or, in SIRSI exports
    /// without one, its 001) names, whether that bib came before, comes later or in another file.
    static func holdingsRecord(_ record: MARCRecord, item: MARCReadItem, localID: String?) -> Outcome {
        let number = item.recordNumber
        guard let localID, !localID.isEmpty, let bib = HoldingsExtractor.bibliographicID(ofHoldingsRecord: record) else {
            return .reject(problem(number, localID, "a holdings record without 001 or 004: it names no bibliographic record", item.rawBytes))
        }
        let bytes = item.rawBytes ?? (try? ISO2709Writer.data(record)) ?? []
        var incoming = IncomingRecord(
            localID: localID, flavour: record.flavour.rawValue, originalEncoding: record.encoding.rawValue, record: bytes,
            deleted: record.leader.recordStatus == UInt8(ascii: "d"), holdings: HoldingsExtractor.holdings(of: record), holdingsOf: bib)
        incoming.recordNumber = number
        let warnings = item.diagnostics.filter { $0.severity == .warning }.map {
            FileProblem(recordNumber: number, localID: localID, severity: .warning, reason: "\($0.code): \($0.message)")
        }
        return .store(incoming, warnings: warnings)
    }

    static func nonBibliographicReason(_ type: UInt8, unimarc: Bool) -> String {
        let shown = "leader/06 '\(Character(Unicode.Scalar(type)))'"
        switch type {
        case UInt8(ascii: "z") where !unimarc: return "an authority record (\(shown)): authority records are refused"
        case UInt8(ascii: "u"), UInt8(ascii: "v"), UInt8(ascii: "x"), UInt8(ascii: "y"):
            if unimarc { return "not a bibliographic record (\(shown): UNIMARC authority or holdings): refused" }
            return "a holdings record (\(shown)) in a UNIMARC file: refused"
        case UInt8(ascii: "w"): return "a classification record (\(shown)): refused"
        case UInt8(ascii: "q"): return "a community information record (\(shown)): refused"
        default: return "not a bibliographic record (\(shown)): refused"
        }
    }

    private static func reasons(_ item: MARCReadItem, _ severity: MARCDiagnostic.Severity) -> String {
        let texts = item.diagnostics.filter { $0.severity == severity }.map { "\($0.code): \($0.message)" }
        return texts.isEmpty ? "unreadable record" : texts.joined(separator: "; ")
    }

    private static func problem(_ number: Int, _ localID: String?, _ reason: String, _ bytes: [UInt8]?) -> FileProblem {
        FileProblem(recordNumber: number, localID: localID, severity: .error, reason: reason, rejected: bytes)
    }
}
