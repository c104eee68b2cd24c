extension MARCRecord {
    /// Subfields across all data fields, counted without building any of them.
    public var subfieldCount: Int {
        if let knownSubfieldCount { return Int(knownSubfieldCount) }
        return storage.withUnsafeBytes { raw -> Int in
            var count = 0
            for entry in entries where !entry.isControl {
                var from = entry.range.lowerBound + 2
                let to = entry.range.upperBound
                while let hit = ISO2709Parser.firstIndex(of: MARCDelimiter.subfield, in: raw, from: from, to: to) {
                    count += 1
                    from = hit + 1
                }
            }
            return count
        }
    }
}
