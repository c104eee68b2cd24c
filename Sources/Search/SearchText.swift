import CHanziFold
import Foundation
import MARC
import Store

/// What a record is searched by: its titles, authors and publishers, in every script it carries them (MARC21
/// fields and their 880 twins; CNMARC's vernacular and its pinyin `$A`), as index text.
public enum SearchText {
    public static func of(_ record: MARCRecord) -> RecordSearchText {
        var title: [String] = []
        var author: [String] = []
        var publisher: [String] = []
        func take(_ field: MARCField, _ codes: String, into target: inout [String]) {
            let text = field.subfields.filter { codes.utf8.contains($0.code) }.map(\.value).joined(separator: " ")
            if !text.isEmpty { target.append(text) }
        }
        if record.flavour.isUNIMARCFamily {
            for field in record.fields {
                switch field.tag.string {
                case "200": take(field, "aehiA", into: &title)
                case "500", "510", "517", "540": take(field, "aeA", into: &title)
                case "700", "701", "702", "710", "711", "712": take(field, "abAB", into: &author)
                case "210": take(field, "cC", into: &publisher)
                default: break
                }
            }
        } else {
            for field in record.fields {
                var tag = field.tag.string
                // A vernacular twin counts as the field it is linked to ($6 245-01/$1).
                if tag == "880", let link = field.subfield("6") { tag = String(link.prefix(3)) }
                switch tag {
                case "245": take(field, "abnp", into: &title)
                case "130", "240", "246", "730", "740": take(field, "abnp", into: &title)
                case "100", "110", "111", "700", "710", "711": take(field, "abq", into: &author)
                case "260", "264": take(field, "b", into: &publisher)
                default: break
                }
            }
        }
        return RecordSearchText(
            title: SearchTokens.index(title.joined(separator: " ")), author: SearchTokens.index(author.joined(separator: " ")),
            publisher: SearchTokens.index(publisher.joined(separator: " ")))
    }
}

/// How text becomes search tokens, the same way for records and queries. Words in alphabetic scripts are
/// folded (case, diacritics, full-width forms). Chinese, Japanese and Korean runs have no spaces between words,
/// so they become overlapping two-character tokens (traditional Chinese folded to simplified), with the run's
/// last character alone as well: a two-character word is one token, a longer one all of its tokens, and one
/// character the prefix of a token.
public enum SearchTokens {
    enum Piece: Equatable {
        case word(String)
        case ideographs([Unicode.Scalar])
    }

    static func isIdeographic(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF, 0x31F0...0x31FF,  // kana
            0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F,  // Han
            0x1100...0x11FF, 0x3130...0x318F, 0xAC00...0xD7AF:  // Hangul
            true
        default: false
        }
    }

    static func pieces(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var word = String.UnicodeScalarView()
        var run: [Unicode.Scalar] = []
        func flush() {
            if !word.isEmpty {
                pieces.append(.word(fold(word)))
                word = String.UnicodeScalarView()
            }
            if !run.isEmpty {
                pieces.append(.ideographs(run))
                run = []
            }
        }
        // Foundation's normalisation is slow on Linux: most text is ASCII and needs none.
        let ascii = text.utf8.allSatisfy { $0 < 0x80 }
        for scalar in (ascii ? text : text.precomposedStringWithCompatibilityMapping).unicodeScalars {
            if isIdeographic(scalar) {
                if !word.isEmpty { flush() }
                run.append(Unicode.Scalar(calisd_hanzi_simplified(scalar.value)) ?? scalar)
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar.properties.generalCategory == .nonspacingMark
            {
                if !run.isEmpty { flush() }
                word.append(scalar)
            } else {
                flush()
            }
        }
        flush()
        return pieces
    }

    /// A word without case or diacritics: ASCII by hand (most words, and fast), the rest through Foundation.
    static func fold(_ word: String.UnicodeScalarView) -> String {
        if word.allSatisfy({ $0.isASCII }) {
            var bytes = [UInt8]()
            bytes.reserveCapacity(word.count)
            for scalar in word {
                let byte = UInt8(scalar.value)
                bytes.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(word).folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }

    static func tokens(_ run: [Unicode.Scalar]) -> [String] {
        guard run.count > 1 else { return run.map { String($0) } }
        var tokens = (0..<(run.count - 1)).map { String(String.UnicodeScalarView([run[$0], run[$0 + 1]])) }
        tokens.append(String(run[run.count - 1]))
        return tokens
    }

    /// Index text for one field: tokens separated by spaces.
    public static func index(_ text: String) -> String {
        pieces(text).flatMap { piece -> [String] in
            switch piece {
            case .word(let word): [word]
            case .ideographs(let run): tokens(run)
            }
        }.joined(separator: " ")
    }

    /// An FTS5 query for what a person typed: every word (a trailing `*` makes it a prefix) and every run of
    /// ideographs must match, in `column` when given. Nil when the text holds nothing to search for.
    public static func match(_ text: String, column: String? = nil) -> String? {
        var terms: [String] = []
        for part in text.split(whereSeparator: \.isWhitespace) {
            let prefix = part.hasSuffix("*")
            let found = pieces(String(part))
            for (index, piece) in found.enumerated() {
                let last = index == found.count - 1
                switch piece {
                case .word(let word): terms.append("\"\(word)\"" + (prefix && last ? "*" : ""))
                case .ideographs(let run):
                    if run.count == 1 {
                        terms.append("\"\(String(run[0]))\"*")
                    } else {
                        // Every overlapping pair of the run (the index keeps no positions, so not as a phrase).
                        terms += tokens(run).dropLast().map { "\"\($0)\"" }
                    }
                }
            }
        }
        guard !terms.isEmpty else { return nil }
        if let column { terms = terms.map { "\(column) : \($0)" } }
        return terms.joined(separator: " AND ")
    }
}

/// A record's title, first author and publisher as a person reads them in a list of results.
public struct RecordDisplay: Sendable, Equatable {
    public var title: String?
    /// The title in its own script (MARC21 880 twin of 245), when the record carries one.
    public var vernacularTitle: String?
    public var author: String?
    public var publisher: String?
    public var year: String?

    public static func of(_ record: MARCRecord) -> RecordDisplay {
        func text(_ field: MARCField?, _ codes: String) -> String? {
            guard let field else { return nil }
            let value = field.subfields.filter { codes.utf8.contains($0.code) }.map(\.value).joined(separator: " ")
            let trimmed = value.trimmingCharacters(in: CharacterSet(charactersIn: " /:;,.=").union(.whitespaces))
            return trimmed.isEmpty ? nil : trimmed
        }
        if record.flavour.isUNIMARCFamily {
            let imprint = record.first("210")
            return RecordDisplay(
                title: text(record.first("200"), "ae"), vernacularTitle: nil,
                author: text(record.first("700") ?? record.first("701") ?? record.first("710"), "ab"),
                publisher: text(imprint, "c"), year: text(imprint, "d"))
        }
        let twin = { (tag: String) in record.all("880").first { $0.subfield("6")?.hasPrefix(tag) == true } }
        let imprint = record.first("264") ?? record.first("260")
        return RecordDisplay(
            title: text(record.first("245"), "abnp"), vernacularTitle: text(twin("245"), "abnp"),
            author: text(record.first("100") ?? record.first("110") ?? record.first("111"), "abq"),
            publisher: text(imprint, "b"), year: text(imprint, "c"))
    }
}
