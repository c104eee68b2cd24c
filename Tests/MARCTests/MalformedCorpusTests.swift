import Foundation
import Testing

@testable import MARC

/// The malformed files of other parsers' test suites (shared MANIFEST, section 5): how many records calisd
/// recovers, how many error diagnostics it gives and of which kinds. yaz-marcdump's count (from the MANIFEST's
/// `-n -v` run; 0 for XML, which it was not asked to read) is the floor calisd must not fall below.
@Suite("Malformed files from other parsers' test suites")
struct MalformedCorpusTests {
    static let expectations: [(path: String, yaz: Int, records: Int, errors: Int, errorCodes: [String])] = [
        ("pymarc-5.4.0/bad_records.mrc", 8, 9, 4, ["directory", "truncated"]),
        ("pymarc-5.4.0/bad_indicator.dat", 1, 1, 0, []),
        ("pymarc-5.4.0/bad_subfield_code.dat", 1, 1, 0, []),
        ("pymarc-5.4.0/bad_tag.xml", 0, 1, 1, ["tag"]),
        ("marc4j/test/resources/bad_hathi_records.mrc", 3, 5, 0, []),
        ("marc4j/test/resources/bad_leaders_10_11.mrc", 1, 1, 0, []),
        ("marc4j/test/resources/bad_oversize_field_bad_directory.mrc", 5, 5, 1, ["directory"]),
        ("marc4j/test/resources/bad_too_long_plus_2.mrc", 0, 3, 0, []),
        ("marc4j/test/resources/pride-and-prejudice-with-many-errors.mrc", 383, 383, 0, []),
        ("marc4j/test/resources/datos-20161010-slice.mrc", 0, 1, 600, ["directory", "directory-entry"]),
        ("marc4j/test/resources/008008027.mrc", 18, 19, 1, ["truncated"]),
        ("marc4j/test/resources/unordered-directory-entries.mrc", 1, 1, 0, []),
        ("marc4j/src/org/marc4j/samples/resources/error.mrc", 1, 1, 0, []),
        ("ruby-marc/test/three-records-second-bad.xml", 0, 2, 1, ["xml"]),
        ("ruby-marc/test/marc_with_bad_utf8.utf8.marc", 1, 1, 0, []),
        ("ruby-marc/test/utf8_with_bad_bytes.marc", 1, 1, 1, ["encoding"]),
        ("file-marc-php/tests/bad_example2.mrc", 0, 1, 22, ["directory", "directory-entry"]),
        ("file-marc-php/tests/wronglen.mrc", 1, 1, 0, []),
        ("file-marc-php/tests/bad_leader.xml", 0, 1, 0, []),
        ("yaz-5.34.0/marc-files/marc4.marc", 1, 1, 1, ["directory"]),
        ("folio-migration-tools/tests/test_data/corrupt_leader.mrc", 1, 1, 0, []),
        ("stanford-solr-marc/core/test/data/bad_too_long_plus_2.mrc", 0, 3, 0, []),
        ("stanford-solr-marc/stanford-sw/test/data/unreadable.mrc", 0, 1, 11, ["directory", "directory-entry"]),
        ("stanford-solr-marc/core/test/data/combineBibMhld_b1badb3.mrc", 2, 3, 11, ["directory", "directory-entry"]),
        ("marc4j/test/resources/chinese_mangled_multibyte.mrc", 4, 4, 1, ["encoding"]),
        ("marc4j/test/resources/incomplete_esc_seq.mrc", 1, 1, 1, ["encoding"]),
        ("pymarc-5.4.0/bad_marc8_escape.dat", 1, 1, 1, ["encoding"]),
        ("pymarc-5.4.0/bad_eacc_encoding.dat", 1, 1, 1, ["encoding"])
    ]

    @Test("records recovered and errors reported, file by file", .enabled(if: SharedData.isAvailable, "needs ../shared/data"),
          arguments: expectations.map(\.path))
    func malformedFile(path: String) throws {
        let expected = try #require(Self.expectations.first { $0.path == path })
        let items = try readItems(path: try #require(SharedData.path("marc/\(path)")))
        let records = items.filter { $0.record != nil }.count
        let errors = items.flatMap(\.diagnostics).filter { $0.severity == .error }
        #expect(records == expected.records)
        #expect(records >= expected.yaz, "yaz recovers \(expected.yaz)")
        #expect(errors.count == expected.errors)
        #expect(Set(errors.map(\.code.rawValue)) == Set(expected.errorCodes))
        // Every diagnostic says where: a record number within the file and an offset within its bytes.
        #expect(items.flatMap(\.diagnostics).allSatisfy { $0.recordNumber >= 1 && $0.byteOffset >= 0 })
    }
}
