/// A CQL query (the Contextual Query Language of SRU), as far as a catalogue search needs it: search clauses
/// (`index relation term`, or a bare term) joined by `and`, `or`, `not` and `prox`, left to right, with
/// parentheses. Relation and boolean modifiers are kept so the searcher can refuse them by name.
indirect enum CQLQuery: Equatable {
    case clause(CQLClause)
    case boolean(CQLBoolean, modifiers: [String], CQLQuery, CQLQuery)
}

struct CQLClause: Equatable {
    /// Lowercased; `cql.serverchoice` for a bare term.
    var index: String
    /// `=`, `==`, `<>`, `<`, `>`, `<=`, `>=` or a named relation (`all`, `any`, `adj`, `exact`, …), lowercased.
    var relation: String
    var modifiers: [String]
    var term: String
}

enum CQLBoolean: String, Equatable {
    case and, or, not, prox
}

/// Why a CQL query could not be read, with its SRU diagnostic: 10 (syntax), 80 (sort) or 48 (a feature left out).
struct CQLSyntaxError: Error, Equatable {
    var diagnostic = 10
    var message: String
}

enum CQLParser {
    private enum Token: Equatable {
        case word(String)
        case quoted(String)
        case symbol(String)
        case open, close, slash
    }

    static let comparitors: Set<String> = ["=", "==", "<>", "<", ">", "<=", ">="]
    static let namedRelations: Set<String> = ["adj", "all", "any", "within", "encloses", "exact", "scr"]

    static func parse(_ text: String) throws(CQLSyntaxError) -> CQLQuery {
        var tokens = try tokenise(text)[...]
        guard !tokens.isEmpty else { throw CQLSyntaxError(message: "the query is empty") }
        let query = try parseQuery(&tokens)
        if let extra = tokens.first {
            if case .word(let word) = extra, word.lowercased() == "sortby" {
                throw CQLSyntaxError(diagnostic: 80, message: "sortby: results come best match first, or in id order")
            }
            throw CQLSyntaxError(message: "unexpected \(describe(extra)) after a complete query")
        }
        return query
    }

    private static func tokenise(_ text: String) throws(CQLSyntaxError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func isSpecial(_ scalar: Unicode.Scalar) -> Bool {
            "()=<>\"/".unicodeScalars.contains(scalar) || scalar.properties.isWhitespace
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar.properties.isWhitespace {
                index += 1
                continue
            }
            switch scalar {
            case "(":
                tokens.append(.open)
                index += 1
            case ")":
                tokens.append(.close)
                index += 1
            case "/":
                tokens.append(.slash)
                index += 1
            case "=", "<", ">":
                var symbol = String(scalar)
                if index + 1 < scalars.count {
                    let pair = symbol + String(scalars[index + 1])
                    if ["==", "<>", "<=", ">="].contains(pair) { symbol = pair }
                }
                tokens.append(.symbol(symbol))
                index += symbol.unicodeScalars.count
            case "\"":
                var value = String.UnicodeScalarView()
                index += 1
                var closed = false
                while index < scalars.count {
                    let next = scalars[index]
                    if next == "\\" && index + 1 < scalars.count {
                        // CQL keeps the backslash of masking characters (\* \?); others just stand for themselves.
                        let escaped = scalars[index + 1]
                        if escaped == "*" || escaped == "?" || escaped == "^" || escaped == "\\" { value.append("\\") }
                        value.append(escaped)
                        index += 2
                        continue
                    }
                    index += 1
                    if next == "\"" {
                        closed = true
                        break
                    }
                    value.append(next)
                }
                guard closed else { throw CQLSyntaxError(message: "a quoted term is not closed") }
                tokens.append(.quoted(String(value)))
            default:
                var word = String.UnicodeScalarView()
                while index < scalars.count && !isSpecial(scalars[index]) {
                    word.append(scalars[index])
                    index += 1
                }
                tokens.append(.word(String(word)))
            }
        }
        return tokens
    }

    private static func booleanOperator(_ token: Token?) -> CQLBoolean? {
        guard case .word(let word) = token else { return nil }
        return CQLBoolean(rawValue: word.lowercased())
    }

    private static func parseQuery(_ tokens: inout ArraySlice<Token>) throws(CQLSyntaxError) -> CQLQuery {
        if case .symbol(">") = tokens.first {
            throw CQLSyntaxError(diagnostic: 48, message: "prefix assignments (>prefix=\"uri\")")
        }
        var left = try parseClause(&tokens)
        while let boolean = booleanOperator(tokens.first) {
            tokens.removeFirst()
            let modifiers = try parseModifiers(&tokens)
            let right = try parseClause(&tokens)
            left = .boolean(boolean, modifiers: modifiers, left, right)
        }
        return left
    }

    private static func parseClause(_ tokens: inout ArraySlice<Token>) throws(CQLSyntaxError) -> CQLQuery {
        guard let first = tokens.popFirst() else { throw CQLSyntaxError(message: "the query ends where a search term was expected") }
        switch first {
        case .open:
            let inner = try parseQuery(&tokens)
            guard tokens.popFirst() == .close else { throw CQLSyntaxError(message: "a parenthesis is not closed") }
            return inner
        case .quoted(let term):
            return .clause(CQLClause(index: "cql.serverchoice", relation: "=", modifiers: [], term: term))
        case .word(let word):
            // `index relation term`, or a bare term.
            if let relation = relation(at: tokens) {
                tokens.removeFirst()
                let modifiers = try parseModifiers(&tokens)
                guard let term = tokens.popFirst() else { throw CQLSyntaxError(message: "\(word) \(relation) has no search term") }
                switch term {
                case .word(let value), .quoted(let value):
                    return .clause(CQLClause(index: word.lowercased(), relation: relation, modifiers: modifiers, term: value))
                default:
                    throw CQLSyntaxError(message: "\(word) \(relation) is followed by \(describe(term)), not a search term")
                }
            }
            return .clause(CQLClause(index: "cql.serverchoice", relation: "=", modifiers: [], term: word))
        default:
            throw CQLSyntaxError(message: "unexpected \(describe(first)) where a search term was expected")
        }
    }

    /// The relation starting `tokens`, when a term follows it (a named relation is otherwise a bare term).
    private static func relation(at tokens: ArraySlice<Token>) -> String? {
        switch tokens.first {
        case .symbol(let symbol): return symbol
        case .word(let word) where namedRelations.contains(word.lowercased()):
            let after = tokens.dropFirst().first
            switch after {
            case .word(let next) where CQLBoolean(rawValue: next.lowercased()) == nil: return word.lowercased()
            case .quoted, .slash: return word.lowercased()
            default: return nil
            }
        default: return nil
        }
    }

    private static func parseModifiers(_ tokens: inout ArraySlice<Token>) throws(CQLSyntaxError) -> [String] {
        var modifiers: [String] = []
        while tokens.first == .slash {
            tokens.removeFirst()
            guard case .word(let name) = tokens.popFirst() else { throw CQLSyntaxError(message: "a / is not followed by a modifier name") }
            var modifier = name.lowercased()
            if case .symbol(let symbol) = tokens.first {
                tokens.removeFirst()
                switch tokens.popFirst() {
                case .word(let value), .quoted(let value): modifier += symbol + value
                default: throw CQLSyntaxError(message: "the modifier \(name)\(symbol) has no value")
                }
            }
            modifiers.append(modifier)
        }
        return modifiers
    }

    private static func describe(_ token: Token) -> String {
        switch token {
        case .word(let word): return "'\(word)'"
        case .quoted(let term): return "\"\(term)\""
        case .symbol(let symbol): return "'\(symbol)'"
        case .open: return "'('"
        case .close: return "')'"
        case .slash: return "'/'"
        }
    }
}
