import Crosswalk
import Dedup
import Foundation
import MARC

// calis-generate: member drops at CALIS scale, made from the real shared records, deterministic from a seed.
//
//   calis-generate --out DIR --from N --count K [--members 794] [--seed 20261126] [--shared ../shared]
//   calis-generate --blocks K [--seed …]        (title-block size distribution of K manifestations, and of the real records)
//
// Manifestation i (of the whole catalogue, 0-based) is the same for every run with the same seed, so a growth
// curve generates [0, 1M), then [1M, 2M) … in steps. It is written as the copies its holders send: one ISO 2709
// file per member in DIR/<MEMBER>/gen-<from>.mrc. See Benchmarks/README.md for how each part is made.

struct SplitMix64 {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
}

/// What the real records give: their shapes, and pools of the words, names and imprints that fill them.
struct Pools {
    var latinTemplates: [MARCRecord] = []
    var cjkTemplates: [MARCRecord] = []
    /// Title words in their natural frequency (a word appears as often as real titles use it).
    var latinWords: [String] = []
    var romanisedWords: [String] = []
    var hanWords: [String] = []
    var latinTitleLengths: [Int] = []
    /// Real one-word titles ("Poems") and real first words ("The", "A", "Introduction"), as often as they occur.
    var singleWordTitles: [String] = []
    var firstWords: [String] = []
    var cjkTitleLengths: [Int] = []
    var authors: [String] = []
    var hanAuthors: [(String, String)] = []
    var publishers: [(place: String, name: String)] = []
    var hanPublishers: [(String, String)] = []
    var extents: [String] = []

    static func load(shared: String) throws -> Pools {
        var pools = Pools()
        let marc = shared + "/data/marc"
        for (path, cjk) in [
            (marc + "/lc-booksall-2016/booksall-2016-part01-first20000.utf8.mrc", false),
            (marc + "/lc-booksall-2016/booksall-2016-part01-cjk-first8000.utf8.mrc", true),
        ] {
            let reader = ISO2709Reader(source: try FileByteSource(path: path))
            while let item = try reader.next() {
                guard let record = item.record, let title = record.first("245")?.subfield("a") else { continue }
                let twins = record.all("880")
                func twin(_ tag: String) -> MARCField? { twins.first { $0.subfield("6")?.hasPrefix(tag) == true } }
                let words = Self.words(title)
                guard !words.isEmpty else { continue }
                if cjk, let han = twin("245")?.subfield("a") {
                    let hanWords = Self.hanChunks(han)
                    guard !hanWords.isEmpty else { continue }
                    pools.cjkTemplates.append(record)
                    pools.romanisedWords += words
                    pools.hanWords += hanWords
                    pools.cjkTitleLengths.append(hanWords.count)
                    if let author = record.first("100")?.subfield("a"), let hanAuthor = twin("100")?.subfield("a") {
                        pools.hanAuthors.append((author, hanAuthor))
                    }
                    if let imprint = record.first("260"), let hanImprint = twin("260"), let name = imprint.subfield("b"),
                        let hanName = hanImprint.subfield("b")
                    {
                        pools.hanPublishers.append((name, hanName))
                    }
                } else if !cjk {
                    pools.latinTemplates.append(record)
                    pools.latinWords += words.dropFirst()
                    pools.firstWords.append(words[0])
                    if words.count == 1 { pools.singleWordTitles.append(words[0]) }
                    pools.latinTitleLengths.append(words.count)
                    if let author = record.first("100")?.subfield("a") { pools.authors.append(author) }
                    if let imprint = record.first("264") ?? record.first("260"), let name = imprint.subfield("b") {
                        pools.publishers.append((imprint.subfield("a") ?? "[S.l.] :", name))
                    }
                }
                if let extent = record.first("300")?.subfield("a") { pools.extents.append(extent) }
            }
        }
        return pools
    }

    static func words(_ title: String) -> [String] {
        title.split(whereSeparator: { $0 == " " }).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " /:;,.=[]")) }
            .filter { !$0.isEmpty }
    }

    /// A Chinese, Japanese or Korean title in two- and three-character pieces, as its words run.
    static func hanChunks(_ title: String) -> [String] {
        let characters = Array(title.filter { !$0.isWhitespace && !" /:;,.=[]・".contains($0) })
        var chunks: [String] = []
        var index = 0
        while index < characters.count {
            let size = min(characters.count - index, index % 5 == 0 ? 3 : 2)
            chunks.append(String(characters[index..<(index + size)]))
            index += size
        }
        return chunks
    }
}

/// The consortium: members with very different sizes (a few national and big university libraries, many small
/// college libraries); some of them catalogue in CNMARC.
struct Consortium {
    let count: Int
    /// Cumulative weights for choosing a holder: member k weighs 1 / (k + 10), a long tail.
    let cumulative: [Double]

    init(count: Int) {
        self.count = count
        var total = 0.0
        var sums: [Double] = []
        for member in 0..<count {
            total += 1 / Double(member + 10)
            sums.append(total)
        }
        cumulative = sums.map { $0 / total }
    }

    func code(_ member: Int) -> String { String(format: "M%03d", member + 1) }
    /// Every fourth member from the tenth on catalogues in CNMARC, as many CALIS members do.
    func isCNMARC(_ member: Int) -> Bool { member >= 10 && member % 4 == 2 }

    func pick(_ rng: inout SplitMix64) -> Int {
        let x = Double(rng.next() >> 11) / Double(1 << 53)
        var low = 0
        var high = count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < x { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// How many members hold a manifestation: 1 for most, a long tail up to 40.
    func holders(_ rng: inout SplitMix64) -> Int {
        let x = Double(rng.next() >> 11) / Double(1 << 53)
        return min(40, max(1, Int(1 / pow(1 - x, 0.6) - 0.2)))
    }
}

struct Manifestation {
    var template: MARCRecord
    var cjk: Bool
    var title: String
    var hanTitle: String?
    var author: String?
    var hanAuthor: String?
    var place: String
    var publisher: String
    var hanPublisher: String?
    var year: Int
    var extent: String
    var isbn13: String?
}

enum Generator {
    static func isbn13(_ index: Int, cjk: Bool) -> String {
        // 978-7 is China's group; others go under 978-0/1 English-language groups. Nine digits from the index.
        let body = (cjk ? "9787" : (index % 2 == 0 ? "9780" : "9781")) + String(format: "%08d", index % 100_000_000)
        let digits = body.compactMap(\.wholeNumberValue)
        let sum = digits.enumerated().reduce(0) { $0 + $1.element * ($1.offset % 2 == 0 ? 1 : 3) }
        return body + String((10 - sum % 10) % 10)
    }

    static func isbn10(_ isbn13: String) -> String? {
        guard isbn13.hasPrefix("978") else { return nil }
        let core = Array(isbn13.dropFirst(3).dropLast())
        let sum = core.compactMap(\.wholeNumberValue).enumerated().reduce(0) { $0 + $1.element * (10 - $1.offset) }
        let check = (11 - sum % 11) % 11
        return String(core) + (check == 10 ? "X" : String(check))
    }

    static func manifestation(_ index: Int, seed: UInt64, pools: Pools) -> Manifestation {
        var rng = SplitMix64(seed ^ (UInt64(index) &* 0x2545_F491_4F6C_DD1D))
        let cjk = rng.chance(0.3)
        let year = 1950 + rng.below(75)
        let extent = pools.extents[rng.below(pools.extents.count)]
        // Older books have no ISBN more often.
        let isbn = rng.chance(year < 1972 ? 0.1 : 0.85) ? isbn13(index, cjk: cjk) : nil
        if cjk {
            let template = pools.cjkTemplates[rng.below(pools.cjkTemplates.count)]
            let length = pools.cjkTitleLengths[rng.below(pools.cjkTitleLengths.count)]
            let han = (0..<length).map { _ in pools.hanWords[rng.below(pools.hanWords.count)] }
            let romanised = (0..<max(1, length)).map { _ in pools.romanisedWords[rng.below(pools.romanisedWords.count)] }
            let author = pools.hanAuthors.isEmpty ? nil : pools.hanAuthors[rng.below(pools.hanAuthors.count)]
            let publisher = pools.hanPublishers[rng.below(pools.hanPublishers.count)]
            var title = romanised.joined(separator: " ").lowercased()
            title = title.prefix(1).uppercased() + title.dropFirst()
            return Manifestation(
                template: template, cjk: true, title: title, hanTitle: han.joined(), author: author?.0, hanAuthor: author?.1,
                place: "Beijing :", publisher: publisher.0, hanPublisher: publisher.1, year: year, extent: extent, isbn13: isbn)
        }
        let template = pools.latinTemplates[rng.below(pools.latinTemplates.count)]
        let length = pools.latinTitleLengths[rng.below(pools.latinTitleLengths.count)]
        var words: [String]
        if length == 1 {
            words = [pools.singleWordTitles[rng.below(pools.singleWordTitles.count)]]
        } else {
            words = [pools.firstWords[rng.below(pools.firstWords.count)]]
            words += (1..<length).map { _ in pools.latinWords[rng.below(pools.latinWords.count)].lowercased() }
        }
        words[0] = words[0].prefix(1).uppercased() + words[0].dropFirst()
        let publisher = pools.publishers[rng.below(pools.publishers.count)]
        return Manifestation(
            template: template, cjk: false, title: words.joined(separator: " "), hanTitle: nil,
            author: rng.chance(0.85) ? pools.authors[rng.below(pools.authors.count)] : nil, hanAuthor: nil, place: publisher.place,
            publisher: publisher.name, hanPublisher: nil, year: year, extent: extent, isbn13: isbn)
    }

    /// The copy member `holder` sends: the manifestation in its cataloguing, with the noise members' records have.
    static func copy(_ m: Manifestation, index: Int, holder: String, first: Bool, rng: inout SplitMix64) -> MARCRecord {
        let a = UInt8(ascii: "a")
        var record = MARCRecord(leader: m.template.leader)
        record.appendControlField("001", value: "\(holder.lowercased())-\(index)")
        record.appendControlField("003", value: holder)
        if var fixed = m.template.first("008").map({ Array($0.value.utf8) }), fixed.count >= 11 {
            let year = Array(String(m.year).utf8)
            fixed.replaceSubrange(7..<11, with: year)
            record.appendControlField("008", bytes: fixed)
        }
        if let isbn = m.isbn13 {
            // Members write an ISBN as it is printed: 13 or 10 digits, with or without hyphens, a qualifier.
            var form = isbn
            if !first, rng.chance(0.3), let ten = isbn10(isbn) { form = ten }
            if !first, rng.chance(0.2) { form = String(form.prefix(3)) + "-" + String(form.dropFirst(3)) }
            if rng.chance(0.3) { form += rng.chance(0.5) ? " (pbk.)" : " (hardcover)" }
            record.appendDataField("020", subfields: [(a, form)])
        }
        func withLink(_ tag: String) -> [(code: UInt8, value: String)] { m.cjk ? [(UInt8(ascii: "6"), "880-0\(tag)")] : [] }
        if let author = m.author {
            record.appendDataField("100", indicators: (0x31, 0x20), subfields: withLink("1") + [(a, author)])
        }
        var title = m.title
        if !first && rng.chance(0.15) { title = title.uppercased() }
        if !first && rng.chance(0.15) { title += " /" }
        record.appendDataField("245", indicators: (m.author == nil ? 0x30 : 0x31, 0x30), subfields: withLink("2") + [(a, title)])
        var extent = m.extent
        if !first && rng.chance(0.2) { extent = extent.replacingOccurrences(of: " p.", with: " pages") }
        record.appendDataField(
            "260", subfields: withLink("3") + [(a, m.place), (UInt8(ascii: "b"), m.publisher), (UInt8(ascii: "c"), "\(m.year).")])
        record.appendDataField("300", subfields: [(a, extent)])
        // The template's subjects and notes keep the record's shape and size.
        let kept: Set<MARCTag> = ["500", "504", "600", "650", "651"]
        for field in m.template.fields where kept.contains(field.tag) {
            record.append(field)
        }
        if m.cjk {
            let six = UInt8(ascii: "6")
            if let hanAuthor = m.hanAuthor { record.appendDataField("880", indicators: (0x31, 0x20), subfields: [(six, "100-01"), (a, hanAuthor)]) }
            record.appendDataField("880", indicators: (0x31, 0x30), subfields: [(six, "245-02"), (a, m.hanTitle ?? m.title)])
            record.appendDataField(
                "880", subfields: [(six, "260-03"), (a, "北京 :"), (UInt8(ascii: "b"), m.hanPublisher ?? m.publisher), (UInt8(ascii: "c"), "\(m.year).")])
        }
        record.appendDataField(
            "852", subfields: [(a, holder), (UInt8(ascii: "b"), rng.chance(0.7) ? "Stacks" : "Reference"),
                               (UInt8(ascii: "h"), "Z\(index % 997).\(index % 89)")])
        return record
    }
}

// MARK: Command line

let arguments = CommandLine.arguments.dropFirst()
@MainActor func option(_ name: String) -> String? {
    guard let at = arguments.firstIndex(of: name), arguments.index(after: at) < arguments.endIndex else { return nil }
    return arguments[arguments.index(after: at)]
}
let seed = UInt64(option("--seed") ?? "20261126") ?? 20_261_126
let shared = option("--shared") ?? "../shared"
let memberCount = Int(option("--members") ?? "794") ?? 794
let pools = try Pools.load(shared: shared)
let consortium = Consortium(count: memberCount)

if let sample = option("--blocks").flatMap(Int.init) {
    // How many manifestations share a normalised title, generated and real: the title blocks the matcher sees.
    @MainActor func distribution(_ titles: [String]) -> String {
        var sizes: [String: Int] = [:]
        for title in titles { if let key = TitleKey.normalise(title) { sizes[key, default: 0] += 1 } }
        let counts = sizes.values.sorted()
        let blocks = counts.count
        func share(_ range: ClosedRange<Int>) -> String {
            String(format: "%.2f%%", 100 * Double(counts.filter(range.contains).count) / Double(max(1, blocks)))
        }
        return "\(titles.count) titles, \(blocks) blocks: size 1 \(share(1...1)), 2-5 \(share(2...5)), 6-50 \(share(6...50)), >50 \(share(51...Int.max)), largest \(counts.last ?? 0)"
    }
    let generated = (0..<sample).map { Generator.manifestation($0, seed: seed, pools: pools).title }
    let real = (pools.latinTemplates + pools.cjkTemplates).compactMap { $0.first("245")?.subfield("a") }
    let scaled = (0..<sample).map { real[$0 % real.count] }
    print("generated: \(distribution(generated))")
    print("real LoC (\(real.count)): \(distribution(real))")
    print("real LoC cycled to \(sample): \(distribution(scaled))  (a numeric-suffix generator would give this, ×\(sample / max(1, real.count)) copies)")
    exit(0)
}

let recordLimit = option("--records").flatMap(Int.init)
guard let out = option("--out"), let from = option("--from").flatMap(Int.init),
    let count = option("--count").flatMap(Int.init) ?? recordLimit.map({ _ in Int.max - from })
else {
    FileHandle.standardError.write(
        Data("usage: calis-generate --out DIR --from N (--count K | --records R) [--members 794] [--seed S] [--shared PATH]\n".utf8))
    exit(64)
}
let crosswalk = MARC21ToCNMARC(transcribingAgency: "CALIS")
var buffers = [[UInt8]](repeating: [], count: memberCount)
var handles = [FileHandle?](repeating: nil, count: memberCount)
var records = 0
@MainActor func flush(_ member: Int) throws {
    guard !buffers[member].isEmpty else { return }
    if handles[member] == nil {
        let folder = out + "/" + consortium.code(member)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/gen-\(from).mrc"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        handles[member] = FileHandle(forWritingAtPath: path)
    }
    handles[member]!.write(Data(buffers[member]))
    buffers[member].removeAll(keepingCapacity: true)
}
var next = from
for index in from..<(from + count) {
    if let recordLimit, records >= recordLimit { break }
    next = index + 1
    let m = Generator.manifestation(index, seed: seed, pools: pools)
    var rng = SplitMix64(seed &+ UInt64(index) &* 0x9E37_79B9)
    var holders = Set<Int>()
    let wanted = consortium.holders(&rng)
    while holders.count < wanted { holders.insert(consortium.pick(&rng)) }
    for (order, holder) in holders.sorted().enumerated() {
        var copy = Generator.copy(m, index: index, holder: consortium.code(holder), first: order == 0, rng: &rng)
        if m.cjk && consortium.isCNMARC(holder) {
            var converted = crosswalk.convert(copy)
            converted.appendDataField("905", subfields: [(UInt8(ascii: "a"), consortium.code(holder)), (UInt8(ascii: "d"), "Z\(index % 997)")])
            copy = converted
        }
        try ISO2709Writer.write(copy, into: &buffers[holder])
        records += 1
        if buffers[holder].count > 1 << 20 { try flush(holder) }
    }
}
for member in 0..<memberCount { try flush(member) }
for handle in handles { try handle?.close() }
// The driver reads this line: manifestations [from, next) and how many records their copies made.
print("manifestations \(from) \(next) records \(records) files \(handles.compactMap { $0 }.count)")
