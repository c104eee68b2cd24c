/// Normal forms of the descriptive attributes records are compared on (not blocked on).
enum Attributes {
    /// A year from fixed-length data at `offset` (008/07-10, UNIMARC 100$a/9-12), when it is four digits.
    static func year(fixed: String, at offset: Int) -> String? {
        let bytes = Array(fixed.utf8)
        guard bytes.count >= offset + 4 else { return nil }
        let digits = bytes[offset..<(offset + 4)]
        guard digits.allSatisfy({ (0x30...0x39).contains($0) }), digits != [0x30, 0x30, 0x30, 0x30] else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }

    /// The first four-digit run in an imprint date ("c1999.", "[1899?]").
    static func year(text: String) -> String? {
        var run: [UInt8] = []
        for byte in text.utf8 {
            if (0x30...0x39).contains(byte) {
                run.append(byte)
                if run.count == 4 { return String(decoding: run, as: UTF8.self) }
            } else {
                run.removeAll()
            }
        }
        return nil
    }

    static let ordinals: [String: String] = [
        "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7",
        "eighth": "8", "ninth": "9", "tenth": "10", "1st": "1", "2nd": "2", "3rd": "3",
    ]

    static let chineseDigits: [Character: Int] = [
        "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "两": 2, "兩": 2,
    ]

    /// An edition statement as its number when it has one ("2nd ed." = "Second edition" = "第2版" = "第二版" → "2"),
    /// else its first words.
    static func edition(_ text: String) -> String? {
        guard let key = TitleKey.normalise(text) else { return nil }
        // 第N版 / 第N次印刷 in Chinese numerals.
        if let start = text.firstIndex(of: "第") {
            var value = 0
            for character in text[text.index(after: start)...] {
                if let digit = character.wholeNumberValue, character.isASCII {
                    value = value * 10 + digit
                } else if let digit = chineseDigits[character] {
                    value = digit == 10 ? max(value, 1) * 10 : value + digit
                } else {
                    break
                }
            }
            if value > 0 { return String(value) }
        }
        for word in key.split(separator: " ") {
            if let digits = Int(word.prefix { $0.isASCII && $0.isNumber }), digits > 0 { return String(digits) }
            if let number = ordinals[String(word)] { return number }
        }
        return String(key.split(separator: " ").prefix(2).joined(separator: " "))
    }

    /// The publisher's first significant word ("The Macmillan Company" → "macmillan").
    static func publisher(_ text: String) -> String? {
        let skip: Set<Substring> = ["the", "published", "printed", "pub", "by", "for", "s", "n", "sn"]
        return TitleKey.normalise(text)?.split(separator: " ").first { !skip.contains($0) }.map(String.init)
    }

    /// The largest number in an extent ("xii, 284 p." → "284"); a count of volumes stays apart ("2 v." → "2v"),
    /// so it is never compared with pages.
    static func extent(_ text: String) -> String? {
        let lowered = text.lowercased()
        if lowered.contains(" v.") || lowered.contains(" vol") || lowered.contains("册") || lowered.contains("冊") {
            return TitleKey.normalise(lowered).flatMap { key in key.split(separator: " ").first { $0.allSatisfy(\.isNumber) } }
                .map { $0 + "v" }
        }
        var best = 0
        var current = 0
        for byte in text.utf8 {
            if (0x30...0x39).contains(byte) {
                current = min(current * 10 + Int(byte - 0x30), 1_000_000)
            } else {
                best = max(best, current)
                current = 0
            }
        }
        best = max(best, current)
        return best > 0 ? String(best) : nil
    }

    /// The first word of a heading: a personal surname or a body's first word.
    static func author(_ text: String) -> String? {
        TitleKey.normalise(text)?.split(separator: " ").first.map(String.init)
    }

    static func language(fixed: String) -> String? {
        let bytes = Array(fixed.utf8)
        guard bytes.count >= 38 else { return nil }
        return language(code: String(decoding: bytes[35..<38], as: UTF8.self))
    }

    /// A language code, when it is one (not blank, fill or undetermined).
    static func language(code: String) -> String? {
        let trimmed = code.lowercased()
        guard trimmed.count == 3, trimmed.allSatisfy({ $0.isASCII && $0.isLetter }), !["und", "zxx", "mul"].contains(trimmed)
        else { return nil }
        return trimmed
    }
}
