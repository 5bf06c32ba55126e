/// The glyphs of one font style, decoded from the text tables in BitmapFontData.swift.
///
/// The tables are text (one line per glyph, `CCCC` code point in hex, a space, 18 rows of 3 hex
/// digits) because a string literal costs the Swift compiler nothing, where an array literal of
/// the same thousands of integers takes its type-checker minutes. Decoding happens once per style,
/// on first use, and never traps: a line that does not decode is skipped and listed in `malformed`,
/// which the tests require to be empty.
struct GlyphTable: Sendable {
    /// Coverage masks (0 or 255 per pixel, row-major, `cellWidth` x `cellHeight`) by code point.
    let masks: [UInt32: [UInt8]]
    /// The lines that did not decode, for the tests: empty for a well-formed table.
    let malformed: [String]

    /// Hex digits per glyph row: 9 bits fit in 3.
    static let digitsPerRow = 3

    init(parsing text: String, cellWidth: Int, cellHeight: Int) {
        var masks: [UInt32: [UInt8]] = [:]
        var malformed: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let (code, mask) = Self.decode(line, cellWidth: cellWidth, cellHeight: cellHeight) {
                masks[code] = mask
            } else {
                malformed.append(String(line))
            }
        }
        self.masks = masks
        self.malformed = malformed
    }

    /// One table line to (code point, mask), or nil when it is not `CCCC` + space + exactly
    /// `cellHeight` rows of hex that fit in `cellWidth` bits, or names no Unicode scalar.
    static func decode(_ line: Substring, cellWidth: Int, cellHeight: Int) -> (UInt32, [UInt8])? {
        let fields = line.split(separator: " ")
        guard fields.count == 2,
              let code = UInt32(fields[0], radix: 16), Unicode.Scalar(code) != nil else { return nil }
        let hex = Array(fields[1].utf8)
        guard hex.count == cellHeight * digitsPerRow else { return nil }
        var mask = [UInt8](repeating: 0, count: cellWidth * cellHeight)
        for y in 0..<cellHeight {
            var row = 0
            for d in hex[(y * digitsPerRow)..<((y + 1) * digitsPerRow)] {
                guard let v = hexValue(d) else { return nil }
                row = row << 4 | v
            }
            guard row >> cellWidth == 0 else { return nil }
            for x in 0..<cellWidth where row & (1 << (cellWidth - 1 - x)) != 0 {
                mask[y * cellWidth + x] = 255
            }
        }
        return (code, mask)
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A")) + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a")) + 10
        default: return nil
        }
    }
}
