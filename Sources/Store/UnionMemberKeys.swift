import GRDB

/// A union record's members' match keys, as kept in `union_member_keys`: each distinct set of keys (encoded as in
/// `source_records.features`) with the ids of the members that carry it. The same book from many libraries
/// usually carries one set, so the row stays small.
struct UnionMemberKeys {
    private(set) var entries: [(features: String, members: [Int64])] = []

    init(members: some Sequence<(id: Int64, features: String)>) {
        for member in members { add(member.id, features: member.features) }
    }

    private init(entries: [(features: String, members: [Int64])]) { self.entries = entries }

    var memberCount: Int { entries.reduce(0) { $0 + $1.members.count } }

    mutating func add(_ id: Int64, features: String) {
        if let index = entries.firstIndex(where: { $0.features == features }) {
            entries[index].members.append(id)
        } else {
            entries.append((features, [id]))
        }
    }

    /// Every member, in id order: the order the member rows are read in, so a candidate built from either is the same.
    func membersInOrder() -> [(id: Int64, features: String)] {
        entries.flatMap { entry in entry.members.map { (id: $0, features: entry.features) } }.sorted { $0.id < $1.id }
    }

    /// `ids space length space keys` per entry; the length in bytes, so no character in the keys can be mistaken
    /// for a separator.
    func encoded() -> String {
        var text = ""
        for entry in entries {
            text += entry.members.map(String.init).joined(separator: ",")
            text += " \(entry.features.utf8.count) "
            text += entry.features
        }
        return text
    }

    /// - Returns: nil when the text is not in the form `encoded()` writes.
    static func decode(_ text: String) -> UnionMemberKeys? {
        let bytes = Array(text.utf8)
        var position = 0
        func number() -> Int64? {
            let start = position
            var value: Int64 = 0
            while position < bytes.count, position - start < 18 {
                let digit = bytes[position] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                value = value * 10 + Int64(digit)
                position += 1
            }
            return position > start ? value : nil
        }
        func skip(_ separator: Character) -> Bool {
            guard position < bytes.count, bytes[position] == separator.asciiValue else { return false }
            position += 1
            return true
        }
        var entries: [(features: String, members: [Int64])] = []
        while position < bytes.count {
            var members: [Int64] = []
            repeat {
                guard let id = number() else { return nil }
                members.append(id)
            } while skip(",")
            guard skip(" "), let length = number(), skip(" "), length <= bytes.count - position else { return nil }
            entries.append((String(decoding: bytes[position..<(position + Int(length))], as: UTF8.self), members))
            position += Int(length)
        }
        return UnionMemberKeys(entries: entries)
    }
}
