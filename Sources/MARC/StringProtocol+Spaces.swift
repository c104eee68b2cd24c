extension StringProtocol {
    /// Without leading and trailing spaces (U+0020 only): how a 001 becomes a member's local id, which the
    /// API trims the same way.
    package var trimmingSpaces: Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { $0 != " " }), let last = text.lastIndex(where: { $0 != " " }) else {
            return ""
        }
        return text[first...last]
    }
}
