import MARC

/// Normal forms of the standard identifiers records are matched on. Each returns nil when the text holds no
/// valid identifier of that kind, so a bad check digit never blocks two records together.
public enum Identifiers {
    /// ISBN-13 digits from an ISBN-10 or ISBN-13 with or without hyphens and spaces, qualifiers after it
    /// ignored ("0-19-852663-6 (pbk.)"); nil when the check digit is wrong.
    public static func isbn13(_ text: String) -> String? {
        guard let candidate = leadingIdentifier(text, lengths: [10, 13]) else { return nil }
        if candidate.count == 13 {
            guard candidate.allSatisfy(\.isASCIIDigit), candidate.hasPrefix("978") || candidate.hasPrefix("979"),
                ean13CheckDigit(candidate.prefix(12)) == candidate.last
            else { return nil }
            return candidate
        }
        let body = candidate.prefix(9)
        guard body.allSatisfy(\.isASCIIDigit), isbn10CheckDigit(body) == candidate.last else { return nil }
        let thirteen = "978" + body
        return thirteen + String(ean13CheckDigit(Substring(thirteen)))
    }

    /// `NNNN-NNNC` with a valid check character; nil otherwise.
    public static func issn(_ text: String) -> String? {
        guard let candidate = leadingIdentifier(text, lengths: [8]) else { return nil }
        let body = candidate.prefix(7)
        guard body.allSatisfy(\.isASCIIDigit) else { return nil }
        let sum = body.enumerated().reduce(0) { $0 + (8 - $1.offset) * Int($1.element.asciiValue! - 48) }
        let check = (11 - sum % 11) % 11
        let expected: Character = check == 10 ? "X" : Character(String(check))
        guard candidate.last == expected else { return nil }
        return body.prefix(4) + "-" + body.suffix(3) + String(expected)
    }

    /// The LoC LCCN normalisation: blanks removed, text after `/` dropped, a hyphenated serial zero-padded to
    /// six digits ("n 78-890351" → "n78890351", "85-2 " → "85000002").
    public static func lccn(_ text: String) -> String? {
        var value: [UInt8] = []
        value.reserveCapacity(16)
        for byte in text.utf8 {
            if byte == UInt8(ascii: "/") { break }
            if byte != UInt8(ascii: " ") { value.append(byte) }
        }
        if let hyphen = value.firstIndex(of: UInt8(ascii: "-")) {
            let serial = value[(hyphen + 1)...]
            guard serial.allSatisfy({ (0x30...0x39).contains($0) }), serial.count <= 6 else { return nil }
            value = Array(value[..<hyphen]) + Array(repeating: UInt8(ascii: "0"), count: 6 - serial.count) + serial
        }
        guard value.count >= 8, value.allSatisfy({ $0 < 0x80 && (isASCIILetter($0) || (0x30...0x39).contains($0)) }),
            value.suffix(8).allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        return String(decoding: value.map { isASCIILetter($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    static func isASCIILetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }

    /// The number of an OCLC control number in 035$a ("(OCoLC)ocm01234567" → "1234567"); nil for other systems.
    public static func oclc(_ text: String) -> String? {
        let trimmed = text.trimmingSpaces
        var rest: Substring
        if trimmed.hasPrefix("(OCoLC)") {
            rest = trimmed.dropFirst(7)
        } else if trimmed.hasPrefix("(OCLC)") {
            rest = trimmed.dropFirst(6)
        } else {
            return nil
        }
        for prefix in ["ocm", "ocn", "on"] where rest.hasPrefix(prefix) {
            rest = rest.dropFirst(prefix.count)
            break
        }
        rest = rest.drop { $0 == " " || $0 == "0" }
        let digits = rest.prefix { $0.isASCIIDigit }
        guard !digits.isEmpty, digits.count == rest.trimmingSpaces.count else { return nil }
        return String(digits)
    }

    /// Another system's number in 035$a, with its system ("(CStRLIN)DCLP00-B10790" → "cstrlin:dclp00b10790"):
    /// two records carrying one were copied from the same record. Nil for OCLC (its own kind), for a number
    /// without its system in parentheses, and for a bare local ILS name ("(aleph)000218074"): every library
    /// running that system numbers from one, so two libraries' numbers coincide for different books.
    public static func systemNumber(_ text: String) -> String? {
        let trimmed = text.trimmingSpaces
        guard trimmed.hasPrefix("("), let close = trimmed.firstIndex(of: ")"), oclc(String(trimmed)) == nil,
            !trimmed.hasPrefix("(OCoLC)"), !trimmed.hasPrefix("(OCLC)")
        else { return nil }
        let system = trimmed[trimmed.index(after: trimmed.startIndex)..<close].lowercased().filter { $0.isLetter || $0.isNumber }
        let number = trimmed[trimmed.index(after: close)...].lowercased().filter { $0.isLetter || $0.isNumber }
        guard !system.isEmpty, number.count >= 3, !localSystems.contains(system) else { return nil }
        return system + ":" + number
    }

    static let localSystems: Set<String> = [
        "aleph", "sirsi", "iii", "voyager", "horizon", "koha", "evergreen", "millennium", "innopac", "dynix", "local",
        "symphony", "unicorn", "sierra", "polaris", "folio", "libsys", "interlib", "ilas", "melinets",
    ]

    /// A CNMARC 091 unified book number (统一书号, China's number before ISBNs: "10019·3214", "7091-1234"), its
    /// digits with one separator between publisher and title parts.
    public static func unifiedBookNumber(_ text: String) -> String? {
        var parts: [String] = []
        var current = ""
        for character in text {
            if character.isASCII && character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                parts.append(current)
                current = ""
            }
        }
        if !current.isEmpty { parts.append(current) }
        let joined = parts.joined(separator: "-")
        return joined.filter(\.isNumber).count >= 5 ? joined : nil
    }

    /// The first run of identifier characters (digits, X; hyphens and spaces inside it skipped) when it has one
    /// of the expected lengths. Works on the UTF-8 bytes: it runs for every identifier of every record.
    static func leadingIdentifier(_ text: String, lengths: Set<Int>) -> String? {
        var collected: [UInt8] = []
        collected.reserveCapacity(16)
        var started = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                collected.append(byte)
                started = true
            case UInt8(ascii: "X") where started, UInt8(ascii: "x") where started:
                collected.append(UInt8(ascii: "X"))
            case UInt8(ascii: "-"), UInt8(ascii: " "):
                continue
            default:
                if started { return lengths.contains(collected.count) ? String(decoding: collected, as: UTF8.self) : nil }
                // A prefix such as "ISBN" or "ISSN:" is allowed; anything else before the number is not the number.
                guard Self.prefixBytes.contains(byte) else { return nil }
            }
        }
        return lengths.contains(collected.count) ? String(decoding: collected, as: UTF8.self) : nil
    }

    private static let prefixBytes = Set("ISBNisbnISSNissn:".utf8)

    static func isbn10CheckDigit(_ body: Substring) -> Character {
        let sum = body.enumerated().reduce(0) { $0 + (10 - $1.offset) * Int($1.element.asciiValue! - 48) }
        let check = (11 - sum % 11) % 11
        return check == 10 ? "X" : Character(String(check))
    }

    static func ean13CheckDigit(_ body: Substring) -> Character {
        let sum = body.enumerated().reduce(0) { $0 + ($1.offset % 2 == 0 ? 1 : 3) * Int($1.element.asciiValue! - 48) }
        return Character(String((10 - sum % 10) % 10))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
