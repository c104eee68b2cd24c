import APIClient
import APITypes
import CalisdTesting
import Foundation
import MARC
import Testing

/// Search by title, author and publisher through the real socket, on real LoC records in Latin and Chinese.
@Suite("search")
struct SearchTests {
    static func started() async throws -> DaemonProcess {
        let daemon = try await DaemonSupport.started(members: ["M001", "M002"])
        try daemon.drop(try DaemonSupport.fixture("loc-cjk-20.mrc"), member: "M001", name: "cjk.mrc")
        try daemon.drop(try DaemonSupport.fixture("loc-books-50.mrc"), member: "M002", name: "books.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M001", count: 1)
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 1)
        return daemon
    }

    /// The member local ids of the records a search finds (through their union records' sources).
    static func found(_ daemon: DaemonProcess, _ query: String) async throws -> [String] {
        let page = try await daemon.json(SearchResultsBody.self, "/v1/search?" + query)
        var ids: [String] = []
        for hit in page.records {
            let union = try await daemon.json(UnionRecordBody.self, "/v1/records/\(hit.id)")
            ids += union.sources.map(\.localID)
        }
        return ids.sorted()
    }

    static func q(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    @Test("Chinese by a two-character word, a longer fragment, one character, and traditional or simplified alike")
    func chinese() async throws {
        let daemon = try await Self.started()
        defer { daemon.remove() }
        // 民俗 is a two-character word: FTS5's trigram tokenizer cannot find it.
        #expect(try await Self.found(daemon, "q=" + Self.q("民俗")) == ["00049925"])
        #expect(try await Self.found(daemon, "q=" + Self.q("故事")) == ["00049925", "00050512"])
        #expect(try await Self.found(daemon, "title=" + Self.q("明代政治制度")) == ["00049916"])
        #expect(try await Self.found(daemon, "q=" + Self.q("盔")) == ["00049912"])
        // The records are in traditional characters (社會學); the query in simplified finds them, and back.
        let simplified = try await Self.found(daemon, "title=" + Self.q("社会学"))
        #expect(simplified.contains("00049915") && simplified.contains("00049923"), "\(simplified)")
        #expect(try await Self.found(daemon, "title=" + Self.q("社會學")) == simplified)
        // Not every character of the fragment in a row: no match.
        #expect(try await Self.found(daemon, "title=" + Self.q("政治明代")).isEmpty)
        // The vernacular author (880 of 100) and publisher (880 of 260).
        #expect(try await Self.found(daemon, "author=" + Self.q("王俊秀")) == ["00049915"])
        let publisher = try await Self.found(daemon, "publisher=" + Self.q("巨流"))
        #expect(publisher == ["00049915", "00049926"], "both published by 巨流圖書公司: \(publisher)")
        let hit = try #require(try await daemon.json(SearchResultsBody.self, "/v1/search?q=" + Self.q("民俗")).records.first)
        #expect(hit.vernacularTitle == "故事與民俗" && hit.title == "Gu shi yu min su" && hit.members == ["M001"], "\(hit)")
    }

    @Test("Latin words by field, case and diacritics folded, a prefix with *, romanised Chinese, best first, paged")
    func latinAndPaging() async throws {
        let daemon = try await Self.started()
        defer { daemon.remove() }
        #expect(try await Self.found(daemon, "author=aurand") == ["00000002"])
        #expect(try await Self.found(daemon, "title=aurand").isEmpty, "Aurand is an author, not in the title")
        #expect(try await Self.found(daemon, "q=BOTANICAL%20materia") == ["00000002"])
        #expect(try await Self.found(daemon, "q=botan*") == ["00000002"])
        #expect(try await Self.found(daemon, "q=international%20finance") == ["00049917"])
        #expect(try await Self.found(daemon, "publisher=mallen") == ["00000002"])
        let menggu = try await Self.found(daemon, "title=menggu")
        #expect(menggu == ["00049918", "00049927"], "\(menggu)")

        // Pages of one follow each other to the end, each record once.
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await daemon.json(
                SearchResultsBody.self, "/v1/search?title=menggu&limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
            seen += page.records.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(seen.count == 2 && Set(seen).count == 2)

        let table = try daemon.ctl("records", "search", "--title", "明代")
        #expect(table.status == 0 && table.stdoutText.contains("明代政治制度"), "\(table.stdoutText)")
    }

    @Test("a deleted record is no longer found; a changed title is found by its new words")
    func indexFollowsRecords() async throws {
        let daemon = try await Self.started()
        defer { daemon.remove() }
        try daemon.drop(Array("00000002\n".utf8), member: "M002", name: "gone.delete.txt")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 2)
        #expect(try await Self.found(daemon, "author=aurand").isEmpty)
        var books = try DaemonSupport.locBooks()
        let chadman = try #require(books.firstIndex { $0.controlNumber == "00000004" })
        books[chadman] = DaemonSupport.rewriteTitle(books[chadman], "Quixotic gardens of the domestic relations")
        try daemon.drop(try DaemonSupport.iso([books[chadman]]), member: "M002", name: "changed.mrc")
        _ = try await DaemonSupport.waitForFinished(daemon, member: "M002", count: 3)
        #expect(try await Self.found(daemon, "title=quixotic") == ["00000004"])
        #expect(try await Self.found(daemon, "title=personal%20rights").isEmpty)
    }

    @Test("a catalogue whose search index is missing (from before search, or restored) is indexed at start")
    func indexedAtStart() async throws {
        let daemon = try await Self.started()
        defer { daemon.remove() }
        _ = try await daemon.stop()
        let emptied = try ProcessRunner.run("sqlite3", [daemon.stateDirectory + "/catalogue.sqlite", "DELETE FROM record_search"])
        #expect(emptied.status == 0, "\(emptied.stderrText)")
        try await daemon.start()
        #expect(daemon.log.contains("search index built for existing records calisd.count=70"), "\(daemon.log)")
        #expect(try await Self.found(daemon, "q=" + Self.q("民俗")) == ["00049925"])
        // The next start finds it complete and indexes nothing.
        _ = try await daemon.stop()
        try await daemon.start()
        #expect(daemon.log.components(separatedBy: "search index built").count == 2)
    }

    @Test("a search without words, a bad limit or a forged cursor is refused with what to do", arguments: [
        ("", "search with q="),
        ("q=%20%2C%3B", "holds no word"),
        ("title=--", "holds no word"),
        ("q=botanical&limit=0", "limit must be"),
        ("q=botanical&limit=500", "limit must be"),
        ("q=botanical&cursor=bm90LWEtY3Vyc29y", "cursor:"),
    ])
    func broken(query: String, message: String) async throws {
        let daemon = try await DaemonSupport.started(members: ["M001"])
        defer { daemon.remove() }
        let response = try await daemon.get("/v1/search?" + query)
        #expect(response.status == 400, "\(query)")
        #expect(String(decoding: response.body, as: UTF8.self).contains(message), "\(String(decoding: response.body, as: UTF8.self))")
    }
}
