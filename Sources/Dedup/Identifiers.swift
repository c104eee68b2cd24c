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
        var value = text.filter { $0 != " " }
        if let slash = value.firstIndex(of: "/") { value = String(value[..<slash]) }
        if let hyphen = value.firstIndex(of: "-") {
            let serial = value[value.index(after: hyphen)...]
            guard serial.allSatisfy(\.isASCIIDigit), serial.count <= 6 else { return nil }
            value = value[..<hyphen] + String(repeating: "0", count: 6 - serial.count) + serial
        }
        guard value.count >= 8, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
            value.suffix(8).allSatisfy(\.isASCIIDigit)
        else { return nil }
        return value.lowercased()
    }

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

    /// The first run of identifier characters (digits, X; hyphens and spaces inside it skipped) when it has one
    /// of the expected lengths.
    static func leadingIdentifier(_ text: String, lengths: Set<Int>) -> String? {
        var collected = ""
        var started = false
        for character in text {
            if character.isASCIIDigit || ((character == "X" || character == "x") && started) {
                collected.append(character == "x" ? "X" : character)
                started = true
            } else if started && (character == "-" || character == " ") {
                continue
            } else if started {
                break
            } else if character != " " && character != "-" {
                // A prefix such as "ISBN" is allowed; anything else before the number is not the number.
                if !"ISBNisbnISSNissn:".contains(character) { return nil }
            }
        }
        return lengths.contains(collected.count) ? collected : nil
    }

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

extension StringProtocol {
    var trimmingSpaces: Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { $0 != " " }), let last = text.lastIndex(where: { $0 != " " }) else {
            return ""
        }
        return text[first...last]
    }
}
