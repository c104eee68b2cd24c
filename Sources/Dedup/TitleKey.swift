import CHanziFold
import Foundation

/// The normal form titles are compared in: compatibility composition (full-width to half-width), case and
/// diacritics folded, traditional Chinese characters folded to simplified (Unihan), punctuation and symbols of
/// every script removed, spaces collapsed.
public enum TitleKey {
    /// Longer titles are compared on their first 200 characters: enough to tell titles apart, bounded in size.
    static let maximumLength = 200

    public static func normalise(_ title: String) -> String? {
        if let ascii = normaliseASCII(title) { return ascii.isEmpty ? nil : ascii }
        var key = String.UnicodeScalarView()
        var length = 0
        var pendingSpace = false
        func append(_ scalar: Unicode.Scalar) {
            if scalar == " " {
                pendingSpace = true
                return
            }
            if pendingSpace && length > 0 {
                key.append(" ")
                length += 1
            }
            pendingSpace = false
            key.append(scalar)
            length += 1
        }
        for scalar in title.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                switch value {
                case 0x41...0x5A: append(Unicode.Scalar(value | 0x20)!)
                case 0x61...0x7A, 0x30...0x39: append(scalar)
                default: pendingSpace = true
                }
            } else if let folded = ScalarFold.folded(scalar) {
                for output in folded { append(output) }
            } else {
                // Beyond the table: CJK ideographs, kana, Hangul and the rest, classified as they are.
                let properties = scalar.properties
                if properties.isAlphabetic || properties.numericType != nil {
                    append(Unicode.Scalar(calisd_hanzi_simplified(scalar.value)) ?? scalar)
                } else if properties.isWhitespace || properties.generalCategory.isPunctuationOrSymbol {
                    pendingSpace = true
                }
            }
            if length >= maximumLength { break }
        }
        return key.isEmpty ? nil : String(key)
    }

    /// The whole-string form, with Foundation's folding: what ``ScalarFold`` precomputes for each scalar.
    package static func normaliseWithFoundation(_ title: String) -> String? {
        let folded = title.precomposedStringWithCompatibilityMapping
            .folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var key = ""
        var pendingSpace = false
        for scalar in folded.unicodeScalars {
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil {
                if pendingSpace && !key.isEmpty { key.append(" ") }
                pendingSpace = false
                let folded = scalar.value >= 0x3400 ? Unicode.Scalar(calisd_hanzi_simplified(scalar.value)) ?? scalar : scalar
                key.unicodeScalars.append(folded)
                if key.count >= maximumLength { break }
            } else if properties.isWhitespace || scalar.properties.generalCategory.isPunctuationOrSymbol {
                pendingSpace = true
            }
            // Marks left after folding (combining characters outside Latin) are dropped with the rest.
        }
        return key.isEmpty ? nil : key
    }

    /// The same normal form for a title that is all ASCII (most Latin titles), without Foundation's folding:
    /// letters lowercased, digits kept, everything else a word break. Nil when the title is not ASCII.
    static func normaliseASCII(_ title: String) -> String? {
        var key: [UInt8] = []
        key.reserveCapacity(title.utf8.count)
        var pendingSpace = false
        for byte in title.utf8 {
            guard byte < 0x80 else { return nil }
            let isLetter = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            if isLetter || (0x30...0x39).contains(byte) {
                if pendingSpace && !key.isEmpty { key.append(0x20) }
                pendingSpace = false
                key.append(isLetter ? byte | 0x20 : byte)
                if key.count >= maximumLength { break }
            } else {
                pendingSpace = true
            }
        }
        return String(decoding: key, as: UTF8.self)
    }

    /// Drops a leading article the record says to skip (MARC21 245 second indicator) and text between the
    /// UNIMARC non-sorting marks NSB (U+0088/U+0098) and NSE (U+0089/U+009C).
    static func filingForm(_ title: String, nonFiling: Int) -> String {
        var text = title
        if nonFiling > 0, nonFiling < text.count { text = String(text.dropFirst(nonFiling)) }
        guard text.unicodeScalars.contains(where: { (0x88...0x9C).contains($0.value) }) else { return text }
        var result = String.UnicodeScalarView()
        var skipping = false
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x88, 0x98: skipping = true
            case 0x89, 0x9C: skipping = false
            default: if !skipping { result.append(scalar) }
            }
        }
        return String(result)
    }
}

extension Unicode.GeneralCategory {
    var isPunctuationOrSymbol: Bool {
        switch self {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
            .control, .format:
            true
        default: false
        }
    }
}

/// Foundation's folding (compatibility composition, case, diacritics, width) of each scalar below U+3400 and
/// of the compatibility and full-width blocks, computed once: folding a whole title through Foundation cost
/// half of the key extraction on the LoC load. A space in an entry is a word break; an empty entry is dropped
/// (a combining mark, a control).
enum ScalarFold {
    private static let ranges: [ClosedRange<UInt32>] = [0x80...0x33FF, 0xF900...0xFAFF, 0xFE30...0xFFEF]

    private static let table: [[Unicode.Scalar]] = {
        var table: [[Unicode.Scalar]] = []
        table.reserveCapacity(ranges.reduce(0) { $0 + $1.count })
        for range in ranges {
            for value in range {
                guard let scalar = Unicode.Scalar(value) else {
                    table.append([])
                    continue
                }
                table.append(fold(scalar))
            }
        }
        return table
    }()

    private static func fold(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        let folded = String(String.UnicodeScalarView([scalar])).precomposedStringWithCompatibilityMapping
            .folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var output: [Unicode.Scalar] = []
        for scalar in folded.unicodeScalars {
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil {
                output.append(scalar.value >= 0x3400 ? Unicode.Scalar(calisd_hanzi_simplified(scalar.value)) ?? scalar : scalar)
            } else if properties.isWhitespace || properties.generalCategory.isPunctuationOrSymbol {
                output.append(" ")
            }
        }
        return output
    }

    /// The folded form of a non-ASCII `scalar`, or nil when it lies beyond the table.
    static func folded(_ scalar: Unicode.Scalar) -> [Unicode.Scalar]? {
        let value = scalar.value
        var offset = 0
        for range in ranges {
            if range.contains(value) { return table[offset + Int(value - range.lowerBound)] }
            offset += range.count
        }
        return nil
    }
}
