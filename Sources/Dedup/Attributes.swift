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

    /// Pinyin numerals, as LoC romanises 第二版 ("Di er ban").
    static let pinyinDigits: [Substring: Int] = [
        "yi": 1, "er": 2, "san": 3, "si": 4, "wu": 5, "liu": 6, "qi": 7, "ba": 8, "jiu": 9, "shi": 10,
    ]

    /// An edition statement as its number when it has one ("2nd ed." = "Second edition" = "第2版" = "第二版" =
    /// "Di 2 ban" → "2"; "初版" = "Chu ban" → "1"; "再版" = "Zai ban" → "2"), else its first words.
    static func edition(_ text: String) -> String? {
        guard let key = TitleKey.normalise(text) else { return nil }
        if text.contains("初版") || key.hasPrefix("chu ban") { return "1" }
        if text.contains("再版") || key.hasPrefix("zai ban") { return "2" }
        if let number = chineseOrdinal(in: text) { return String(number) }
        let words = key.split(separator: " ")
        if words.first == "di", words.count >= 2, let number = Int(words[1]) ?? pinyinDigits[words[1]] { return String(number) }
        for word in words {
            if let digits = Int(word.prefix { $0.isASCII && $0.isNumber }), digits > 0 { return String(digits) }
            if let number = ordinals[String(word)] { return number }
        }
        return String(words.prefix(2).joined(separator: " "))
    }

    /// The number after 第 (第2版, 第二十册), in Arabic or Chinese numerals.
    static func chineseOrdinal(in text: String) -> Int? {
        guard let start = text.firstIndex(of: "第") else { return nil }
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
        return value > 0 ? value : nil
    }

    /// A part or volume designation in a normal form: its number ("v. 2" = "Vol. 2" = "第2册" = "第二册" = "Di 2 ce"
    /// → "2"), 上/中/下 as themselves, and a part's name normalised after it.
    static func part(number: [String], name: [String]) -> String? {
        var values: [String] = []
        for text in number {
            if let value = chineseOrdinal(in: text) {
                values.append(String(value))
            } else if let position = text.first(where: { "上中下".contains($0) }), text.count <= 3 {
                values.append(String(position))
            } else if let key = TitleKey.normalise(text) {
                let words = key.split(separator: " ")
                if let digits = words.first(where: { $0.allSatisfy(\.isNumber) }) {
                    values.append(String(Int(digits).map(String.init) ?? String(digits)))
                } else if words.first == "di", words.count >= 2, let value = pinyinDigits[words[1]] {
                    values.append(String(value))
                } else {
                    values.append(key)
                }
            }
        }
        values += name.compactMap(TitleKey.normalise)
        return values.isEmpty ? nil : values.joined(separator: " ")
    }

    /// A volume named in an ISBN's qualification (020 $q, 010 $b, or "(v. 2)" after the number); binding words
    /// (pbk., 精装, 平装) are not volumes.
    static func volume(inQualifier text: String) -> String? {
        if chineseOrdinal(in: text) != nil || text.contains("册") || text.contains("卷") || text.contains("冊") {
            return part(number: [text], name: [])
        }
        guard let key = TitleKey.normalise(text) else { return nil }
        let words = key.split(separator: " ")
        guard let index = words.firstIndex(where: { ["v", "vol", "volume", "pt", "part", "t", "bd"].contains($0) }),
            index + 1 < words.count, let number = Int(words[index + 1])
        else { return nil }
        return String(number)
    }

    enum Script {
        case number, cjk, latin
    }

    /// What a value can be compared with: a number with any number, CJK text with CJK text, Latin with Latin. A
    /// romanised publisher and its vernacular form are not evidence against each other.
    static func script(of value: String) -> Script {
        if value.allSatisfy(\.isNumber) { return .number }
        let cjk = value.unicodeScalars.contains {
            (0x3040...0x30FF).contains($0.value) || (0x3400...0x9FFF).contains($0.value) || (0xAC00...0xD7AF).contains($0.value)
                || (0xF900...0xFAFF).contains($0.value) || $0.value >= 0x20000
        }
        return cjk ? .cjk : .latin
    }

    /// A romanised Chinese title as its letters alone: LoC writes "Zhongguo fa zhan bao gao", CNMARC's pinyin
    /// subfield "Zhong Guo Fa Zhan Bao Gao". Compared, never taken as the title itself.
    static func pinyin(_ text: String) -> String? {
        guard let key = TitleKey.normalise(text), key.unicodeScalars.allSatisfy({ $0.isASCII }) else { return nil }
        let letters = String(key.unicodeScalars.filter { $0 != " " })
        return letters.count >= 4 ? letters : nil
    }

    /// The publisher's first significant word ("The Macmillan Company" → "macmillan").
    static func publisher(_ text: String) -> String? {
        // Initials too: "J. Murray" is Murray.
        let skip: Set<Substring> = ["the", "published", "printed", "pub", "by", "for", "s", "n", "sn"]
        return TitleKey.normalise(text)?.split(separator: " ").first { !skip.contains($0) && ($0.count > 1 || !$0.allSatisfy(\.isLetter)) }
            .map(String.init)
    }

    /// The largest number in an extent ("xii, 284 p." → "284"); a count of volumes stays apart ("2 v." → "2v"),
    /// so it is never compared with pages.
    static func extent(_ text: String) -> String? {
        let lowered = text.lowercased()
        if lowered.contains("册") || lowered.contains("冊") {
            return TitleKey.normalise(lowered).flatMap { key in key.split(separator: " ").first { $0.allSatisfy(\.isNumber) } }
                .map { $0 + "v" }
        }
        // "2 v.", "2 v", "2 vols.", "3 volumes": a count of volumes.
        if let words = TitleKey.normalise(lowered)?.split(separator: " "), words.count >= 2 {
            for index in words.indices.dropLast() where words[index].allSatisfy(\.isNumber) {
                if ["v", "vol", "vols", "volume", "volumes"].contains(words[index + 1]) { return words[index] + "v" }
            }
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
