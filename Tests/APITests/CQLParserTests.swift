import Testing

@testable import API

/// CQL as SRU clients send it: what each query means, and the syntax errors that become diagnostic 10.
@Suite("CQL parser")
struct CQLParserTests {
    static func clause(_ index: String, _ relation: String, _ term: String, _ modifiers: [String] = []) -> CQLQuery {
        .clause(CQLClause(index: index, relation: relation, modifiers: modifiers, term: term))
    }

    @Test("a bare term searches cql.serverChoice; index relation term; quoted terms keep their spaces and escapes")
    func clauses() throws {
        #expect(try CQLParser.parse("botanical") == Self.clause("cql.serverchoice", "=", "botanical"))
        #expect(try CQLParser.parse("\"materia medica\"") == Self.clause("cql.serverchoice", "=", "materia medica"))
        #expect(try CQLParser.parse("dc.Title = \"明代 政治\"") == Self.clause("dc.title", "=", "明代 政治"))
        #expect(try CQLParser.parse("bath.isbn==978-7-5004-1234-5") == Self.clause("bath.isbn", "==", "978-7-5004-1234-5"))
        #expect(try CQLParser.parse("title <> x") == Self.clause("title", "<>", "x"))
        #expect(try CQLParser.parse("title ANY \"loom destiny\"") == Self.clause("title", "any", "loom destiny"))
        #expect(try CQLParser.parse(#"title = "say \"hi\"""#) == Self.clause("title", "=", #"say "hi""#))
        #expect(try CQLParser.parse(#"title = "a\*b""#) == Self.clause("title", "=", #"a\*b"#), "a masking escape keeps its backslash")
        #expect(try CQLParser.parse("title =/relevant botan*") == Self.clause("title", "=", "botan*", ["relevant"]))
        #expect(try CQLParser.parse("any") == Self.clause("cql.serverchoice", "=", "any"), "a relation name alone is a term")
    }

    @Test("booleans bind left to right without precedence; parentheses group; modifiers are kept")
    func booleans() throws {
        let a = Self.clause("cql.serverchoice", "=", "a")
        let b = Self.clause("cql.serverchoice", "=", "b")
        let c = Self.clause("cql.serverchoice", "=", "c")
        #expect(try CQLParser.parse("a and b or c") == .boolean(.or, modifiers: [], .boolean(.and, modifiers: [], a, b), c))
        #expect(try CQLParser.parse("a AND (b NOT c)") == .boolean(.and, modifiers: [], a, .boolean(.not, modifiers: [], b, c)))
        #expect(try CQLParser.parse("a prox/unit=word b") == .boolean(.prox, modifiers: ["unit=word"], a, b))
        #expect(
            try CQLParser.parse("title=loom and isbn=0836932722")
                == .boolean(.and, modifiers: [], Self.clause("title", "=", "loom"), Self.clause("isbn", "=", "0836932722")))
    }

    @Test("broken queries are syntax errors that say where; sortby and prefix assignments have their own diagnostics")
    func errors() {
        let broken = ["", "   ", "title =", "title = \"open", "(a and b", "a and", "a b", ")", "title = (x)", "a / b", "a and / b"]
        for query in broken {
            #expect(throws: CQLSyntaxError.self, "\(query)") { try CQLParser.parse(query) }
            do {
                _ = try CQLParser.parse(query)
            } catch {
                #expect(error.diagnostic == 10 && !error.message.isEmpty, "\(query): \(error)")
            }
        }
        #expect(throws: CQLSyntaxError(diagnostic: 80, message: "sortby: results come best match first, or in id order")) {
            try CQLParser.parse("title=loom sortby dc.date")
        }
        do {
            _ = try CQLParser.parse(">dc=\"info:srw/cql-context-set/1/dc-v1.1\" dc.title=x")
            Issue.record("a prefix assignment was accepted")
        } catch {
            #expect(error.diagnostic == 48)
        }
    }
}
