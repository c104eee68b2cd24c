/// The character encoding of a record's bytes as received. Records in a legacy encoding are transcoded to UTF-8
/// when read; this stays the encoding they arrived in.
public enum MARCEncoding: String, Sendable, Hashable, Codable, CodingKeyRepresentable, CaseIterable {
    /// Only bytes below 0x80: the same in every encoding MARC uses.
    case ascii
    case utf8 = "utf-8"
    /// MARC-8, the MARC21 legacy encoding (leader/09 blank), possibly with EACC for CJK.
    case marc8 = "marc-8"
    /// GB 18030 and its subsets GBK and GB 2312: legacy Chinese exports.
    case gb18030 = "gb18030"
    /// ISO 5426, UNIMARC's extended Latin.
    case iso5426 = "iso-5426"
    case windows1251 = "windows-1251"
    case cp866 = "cp866"
    case koi8r = "koi8-r"
    case iso8859_5 = "iso-8859-5"
    /// Latin-1 as Windows writes it: what an 8-bit record that is nothing else usually is.
    case windows1252 = "windows-1252"
    /// 8-bit bytes that are not UTF-8 and whose encoding was not decided.
    case unknown8bit = "unknown-8bit"
}

/// Byte-level checks used to decide what a record is encoded in.
public enum UTF8Validation {
    /// Classifies `bytes` as pure ASCII, valid UTF-8, or neither.
    public static func classify(_ bytes: UnsafeRawBufferPointer) -> MARCEncoding {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return .ascii }
        var index = 0
        // Eight bytes at a time while everything is ASCII.
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if word & 0x8080_8080_8080_8080 != 0 { break }
            index += 8
        }
        while index < count && base.load(fromByteOffset: index, as: UInt8.self) < 0x80 { index += 1 }
        if index == count { return .ascii }
        return isValidUTF8(base, from: index, count: count) ? .utf8 : .unknown8bit
    }

    public static func classify(_ bytes: some Collection<UInt8>) -> MARCEncoding {
        let array = Array(bytes)
        return array.withUnsafeBytes { classify($0) }
    }

    private static func isValidUTF8(_ base: UnsafeRawPointer, from start: Int, count: Int) -> Bool {
        var index = start
        @inline(__always) func byte(_ i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }
        @inline(__always) func isContinuation(_ i: Int) -> Bool { i < count && byte(i) & 0xC0 == 0x80 }
        while index < count {
            let lead = byte(index)
            if lead < 0x80 {
                index += 1
            } else if lead >= 0xC2 && lead <= 0xDF {
                guard isContinuation(index + 1) else { return false }
                index += 2
            } else if lead >= 0xE0 && lead <= 0xEF {
                guard isContinuation(index + 1), isContinuation(index + 2) else { return false }
                let second = byte(index + 1)
                if lead == 0xE0 && second < 0xA0 { return false }  // overlong
                if lead == 0xED && second > 0x9F { return false }  // surrogates
                index += 3
            } else if lead >= 0xF0 && lead <= 0xF4 {
                guard isContinuation(index + 1), isContinuation(index + 2), isContinuation(index + 3) else {
                    return false
                }
                let second = byte(index + 1)
                if lead == 0xF0 && second < 0x90 { return false }
                if lead == 0xF4 && second > 0x8F { return false }
                index += 4
            } else {
                return false
            }
        }
        return true
    }
}
