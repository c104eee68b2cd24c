import APIClient
import APITypes
import CalisdTesting
import Foundation
import Testing

/// Copy cataloguing over SRU at `/sru`: searchRetrieve by ISBN, title (Chinese too), author and control number,
/// booleans, paging, both versions, every diagnostic a broken request gets; yaz-client searches it over the
/// loopback listener and pymarc reads what it returns.
@Suite("SRU")
struct SRUTests {
    static func started(config: String = "[ingest]\nsettle_seconds = 1\n") async throws -> DaemonProcess {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"], config: config)
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "cjk.mrc")
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M002", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        return daemon
    }

    static func sru(_ daemon: DaemonProcess, _ parameters: [(String, String)]) async throws -> String {
        let query = parameters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }
        let response = try await daemon.get("/sru?" + query.joined(separator: "&"))
        #expect(response.status == 200, "SRU answers its diagnostics with 200: \(response.text)")
        return response.text
    }

    static func search(_ daemon: DaemonProcess, _ cql: String, _ more: [(String, String)] = []) async throws -> String {
        try await sru(daemon, [("operation", "searchRetrieve"), ("version", "1.2"), ("query", cql)] + more)
    }

    static func count(_ xml: String) -> Int? {
        guard let range = xml.range(of: #"<numberOfRecords>(\d+)</numberOfRecords>"#, options: .regularExpression) else { return nil }
        return Int(xml[range].filter(\.isNumber))
    }

    /// The 001s (union ids) of the MARCXML records in an answer, in order.
    static func unionIDs(_ xml: String) -> [String] {
        xml.components(separatedBy: #"<controlfield tag="001">"#).dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    static func diagnostic(_ xml: String) -> Int? {
        guard let range = xml.range(of: #"info:srw/diagnostic/1/\d+"#, options: .regularExpression) else { return nil }
        return Int(xml[range].split(separator: "/").last!)
    }

    @Test("searchRetrieve by ISBN in any form, LCCN, control number, title words in Chinese and English, author; booleans; paging")
    func searches() async throws {
        let daemon = try await Self.started()
        defer { daemon.remove() }
        let union = try #require(try await daemon.json(UnionListBody.self, "/v1/records?isbn=0836932722").records.first?.id)

        for isbn in ["0836932722", "978-0-8369-3272-0", "9780836932720"] {
            let xml = try await Self.search(daemon, "bath.isbn=\(isbn)")
            #expect(Self.count(xml) == 1 && Self.unionIDs(xml) == [union], "\(isbn): \(xml.prefix(400))")
        }
        #expect(try await Self.unionIDs(Self.search(daemon, "isbn=\"0836932722\"")) == [union])
        #expect(try await Self.unionIDs(Self.search(daemon, "rec.id=\(union)")) == [union])
        #expect(try await Self.unionIDs(Self.search(daemon, "rec.id=\"(M002)00000074\"")) == [union], "a member's own number, as its 035 shows it")
        #expect(try await Self.unionIDs(Self.search(daemon, "bath.lccn=00000074")) == [union])
        #expect(try await Self.unionIDs(Self.search(daemon, "0836932722")) == [union], "an ISBN as a bare term")
        #expect(try await Self.count(Self.search(daemon, "isbn=0836932723")) == 0, "a wrong check digit finds nothing")

        // 民俗 is a two-character word; the traditional 社會學 and the simplified 社会学 find the same records.
        let folk = try await Self.search(daemon, "dc.title=民俗")
        #expect(Self.count(folk) == 1 && folk.contains("故事與民俗"), "\(folk.prefix(600))")
        #expect(try await Self.count(Self.search(daemon, "title=\"明代政治制度\"")) == 1)
        let simplified = try await Self.count(Self.search(daemon, "title=社会学"))
        let traditional = try await Self.count(Self.search(daemon, "title=社會學"))
        #expect((simplified ?? 0) >= 2 && simplified == traditional)
        #expect(try await Self.count(Self.search(daemon, "dc.creator=王俊秀")) == 1)
        #expect(try await Self.count(Self.search(daemon, "title=loom")) == 1)
        #expect(try await Self.count(Self.search(daemon, "title=aurand")) == 0, "an author is not a title")
        #expect(try await Self.count(Self.search(daemon, "author=aurand")) == 1)
        #expect(try await Self.count(Self.search(daemon, "title all \"loom destiny\"")) == 1)
        #expect(try await Self.count(Self.search(daemon, "title any \"loom menggu\"")) == 3)
        #expect(try await Self.count(Self.search(daemon, "cql.serverChoice=botan*")) == 1, "a right-truncated word")

        #expect(try await Self.count(Self.search(daemon, "title=loom and isbn=0836932722")) == 1)
        #expect(try await Self.count(Self.search(daemon, "title=loom not isbn=0836932722")) == 0)
        #expect(try await Self.count(Self.search(daemon, "title=menggu or isbn=0836932722")) == 3)
        #expect(try await Self.count(Self.search(daemon, "(title=menggu or title=loom) and dc.creator=stringer")) == 1)

        // Pages: the 3 records one at a time, each once, positions and nextRecordPosition in step.
        var seen: [String] = []
        for start in 1...3 {
            let page = try await Self.search(daemon, "title any \"loom menggu\"", [("startRecord", "\(start)"), ("maximumRecords", "1")])
            #expect(page.contains("<recordPosition>\(start)</recordPosition>"))
            #expect(page.contains("<nextRecordPosition>\(start + 1)</nextRecordPosition>") == (start < 3), "\(page.suffix(300))")
            seen += Self.unionIDs(page)
        }
        #expect(seen.count == 3 && Set(seen).count == 3)
        let none = try await Self.search(daemon, "title=loom", [("maximumRecords", "0")])
        #expect(Self.count(none) == 1 && Self.unionIDs(none).isEmpty)

        // Dublin Core, and records as escaped strings.
        let dc = try await Self.search(daemon, "isbn=0836932722", [("recordSchema", "dc")])
        #expect(dc.contains("<dc:title>The loom of destiny</dc:title>") && dc.contains("info:srw/schema/1/dc-v1.1"), "\(dc)")
        let string = try await Self.search(daemon, "isbn=0836932722", [("recordPacking", "string")])
        #expect(string.contains("<recordData>&lt;record xmlns=\"http://www.loc.gov/MARC21/slim\"&gt;"), "\(string.prefix(500))")
    }

    @Test("SRU 2.0 by default without operation; explain in both versions lists the indexes and schemas")
    func versionsAndExplain() async throws {
        let daemon = try await DaemonSupport.started(members: [], config: "[api]\npublic_url = \"https://union.example.edu/cat/\"\n")
        defer { daemon.remove() }
        let two = try await Self.sru(daemon, [("query", "title=anything"), ("recordXMLEscaping", "xml")])
        #expect(two.contains("<searchRetrieveResponse xmlns=\"http://docs.oasis-open.org/ns/search-ws/sruResponse\">"))
        #expect(two.contains("<version>2.0</version>") && Self.count(two) == 0)
        let explain = try await Self.sru(daemon, [])
        #expect(explain.contains("<explainResponse xmlns=\"http://docs.oasis-open.org/ns/search-ws/sruResponse\">"), "\(explain)")
        let old = try await Self.sru(daemon, [("operation", "explain"), ("version", "1.1")])
        #expect(old.contains("<explainResponse xmlns=\"http://www.loc.gov/zing/srw/\">") && old.contains("<version>1.1</version>"))
        for expected in [
            "<host>union.example.edu</host>", "<port>443</port>", "<database>cat/sru</database>", #"<name set="bath">isbn</name>"#,
            #"<name set="dc">title</name>"#, #"<name set="rec">id</name>"#, #"identifier="info:srw/schema/1/marcxml-v1.1""#,
        ] {
            #expect(old.contains(expected), "\(expected)")
        }
    }

    @Test("every broken request gets its SRU diagnostic, and no records")
    func diagnostics() async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M001", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        let search: [(String, String)] = [("operation", "searchRetrieve"), ("version", "1.2")]
        let cases: [([(String, String)], Int)] = [
            (search, 7),
            (search + [("query", "   ")], 7),
            ([("operation", "searchRetrieve"), ("version", "3.0"), ("query", "a")], 5),
            ([("operation", "scan"), ("version", "1.2"), ("scanClause", "a")], 4),
            (search + [("query", "title=loom"), ("startRecord", "0")], 6),
            (search + [("query", "title=loom"), ("startRecord", "x")], 6),
            (search + [("query", "title=loom"), ("maximumRecords", "-1")], 6),
            (search + [("query", "title=loom"), ("startRecord", "5")], 61),
            (search + [("query", "title=loom"), ("recordSchema", "mods")], 66),
            (search + [("query", "title=loom"), ("recordPacking", "json")], 71),
            (search + [("query", "title=loom"), ("stylesheet", "x.xsl")], 110),
            (search + [("query", "title=loom"), ("sortKeys", "title")], 80),
            (search + [("query", "title=loom sortby dc.date")], 80),
            (search + [("query", "dc.subject=loom")], 16),
            (search + [("query", "title < loom")], 19),
            (search + [("query", "title =/stem loom")], 20),
            (search + [("query", "title=\"\"")], 27),
            (search + [("query", "title=\"...\"")], 27),
            (search + [("query", "title=lo?m")], 28),
            (search + [("query", "title=^loom")], 31),
            (search + [("query", "title=*oom")], 49),
            (search + [("query", "title=loom prox title=destiny")], 37),
            (search + [("query", "title=loom and/rel.algorithm=cql isbn=1")], 46),
            (search + [("query", "title=(loom")], 10),
            (search + [("query", "title = \"loom")], 10),
            (search + [("query", ">dc=\"x\" title=loom")], 48),
            (search + [("query", "title=loom"), ("queryType", "pqf")], 6),
        ]
        for (parameters, expected) in cases {
            let xml = try await Self.sru(daemon, parameters)
            #expect(Self.diagnostic(xml) == expected, "\(parameters): \(xml)")
            #expect(Self.unionIDs(xml).isEmpty && xml.contains("<message>"))
        }
        // Not GET or POST: a plain HTTP error. POST carries the parameters as a form.
        let delete = try TCPListenerTests.curl(["--unix-socket", daemon.socketPath, "-X", "DELETE", "http://calisd/sru?query=a"])
        #expect(delete.status == 405, "\(delete)")
        let post = try TCPListenerTests.curl([
            "--unix-socket", daemon.socketPath, "--data", "operation=searchRetrieve&version=1.2&query=title%3Dloom", "http://calisd/sru",
        ])
        #expect(post.status == 200 && Self.count(post.body) == 1, "\(post)")
    }

    @Test("yaz-client searches over the loopback listener by ISBN and by title; pymarc reads the MARCXML SRU returns")
    func independentClients() async throws {
        guard ProcessRunner.find("yaz-client") != nil, ProcessRunner.find("yaz-url") != nil else {
            Issue.record("yaz-client and yaz-url (Debian yaz) are needed: scripts/install-test-deps")
            return
        }
        let port = TCPListenerTests.freePort()
        let daemon = try await Self.started(config: "[ingest]\nsettle_seconds = 1\n[api]\nlisten_tcp = \"127.0.0.1:\(port)\"\n")
        defer { daemon.remove() }
        let commands = "sru get 1.2\nquerytype cql\nformat xml\nelements marcxml\nfind isbn=0836932722\nshow 1\nfind dc.title=\"故事\"\nshow 1+2\nquit\n"
        let yaz = try await ProcessRunner.runDetached("yaz-client", ["http://127.0.0.1:\(port)/sru"], input: Data(commands.utf8))
        let output = yaz.stdoutText
        #expect(yaz.status == 0, "\(yaz.stderrText)")
        #expect(output.contains("Number of hits: 1\n"), "the ISBN finds one: \(output)")
        #expect(output.contains("Number of hits: 2\n"), "故事 (a two-character word) finds two: \(output)")
        #expect(output.contains("<subfield code=\"a\">The loom of destiny</subfield>"))
        #expect(output.contains("故事與民俗"))

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("calisd-sru-\(UUID().uuidString).xml").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let url = "http://127.0.0.1:\(port)/sru?version=1.2&operation=searchRetrieve&maximumRecords=5&query="
            + "title%3D%E7%A4%BE%E6%9C%83%E5%AD%B8%20or%20isbn%3D0836932722"
        let fetched = try await ProcessRunner.runDetached("yaz-url", ["-O", scratch, url])
        #expect(fetched.status == 0, "\(fetched.stderrText)")
        guard let python = ProcessRunner.find("python3") else {
            Issue.record("python3 with pymarc is needed: scripts/install-test-deps")
            return
        }
        let script = """
            import pymarc, sys
            records = pymarc.parse_xml_to_array(sys.argv[1], strict=True)
            for r in records: print(r['001'].data, '|', r.title)
            """
        let pymarc = try await ProcessRunner.runDetached(python, ["-c", script, scratch])
        #expect(pymarc.status == 0, "\(pymarc.stderrText)")
        let lines = pymarc.stdoutText.split(separator: "\n")
        #expect(lines.count == 3, "two 社會學 titles and the ISBN: \(pymarc.stdoutText)")
        #expect(lines.allSatisfy { $0.hasPrefix("CAL") })
        #expect(lines.contains { $0.contains("The loom of destiny") })
    }
}
