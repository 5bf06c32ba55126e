/// Block elements (U+2580-U+259F) and the straight box-drawing lines, drawn from their definition
/// instead of taken from the font.
///
/// Why: these characters build bars, gauges and borders out of neighbouring cells, so they must tile
/// without gaps or seams. Computing them from exact fractions of the cell guarantees that ▀ and ▄ are
/// complementary, that ▁…█ step by eighths of the height, ▏…█ by eighths of the width, and that box
/// lines reach the cell edges through the same middle row and column in every cell.
///
/// Geometry of the 9 x 18 cell (matching the 9x18 font's own box drawing): light lines are row 9 and
/// column 4; heavy lines add row 10 and column 5. Width eighths round half up (▌ is 5 of 9 columns,
/// ▐ the other 4, so the two halves are complementary); height eighths likewise (▁ is 2 of 18 rows).
enum GeometricGlyphs {
    static let w = BitmapFont.cellWidth
    static let h = BitmapFont.cellHeight

    /// The mask for `code` if it is drawn here, else nil (the font's glyph is used).
    static func mask(_ code: UInt32) -> [UInt8]? { table[code] }

    /// Every geometric glyph, built once.
    static let table: [UInt32: [UInt8]] = {
        var t: [UInt32: [UInt8]] = [:]
        for code in UInt32(0x2580)...0x259F { if let m = block(code) { t[code] = m } }
        for (code, arms) in boxArms { t[code] = box(arms) }
        return t
    }()

    // MARK: block elements

    /// Columns covered by `k` eighths of the width, rounded half up.
    static func widthEighths(_ k: Int) -> Int { (w * k + 4) / 8 }
    /// Rows covered by `k` eighths of the height, rounded half up.
    static func heightEighths(_ k: Int) -> Int { (h * k + 4) / 8 }

    /// A mask with `value` on the pixels of rows `rows` and columns `cols`.
    static func rect(rows: Range<Int>, cols: Range<Int>, value: UInt8 = 255) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: w * h)
        for y in rows { for x in cols { m[y * w + x] = value } }
        return m
    }

    /// The union of two masks (per-pixel maximum).
    static func union(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { zip(a, b).map { max($0, $1) } }

    static func block(_ code: UInt32) -> [UInt8]? {
        let halfW = widthEighths(4), halfH = h / 2
        let ul = rect(rows: 0..<halfH, cols: 0..<halfW), ur = rect(rows: 0..<halfH, cols: halfW..<w)
        let ll = rect(rows: halfH..<h, cols: 0..<halfW), lr = rect(rows: halfH..<h, cols: halfW..<w)
        switch code {
        case 0x2580: return rect(rows: 0..<halfH, cols: 0..<w)                                  // ▀
        case 0x2581...0x2588:                                                                    // ▁ … █
            let k = Int(code - 0x2580)
            return rect(rows: (h - heightEighths(k))..<h, cols: 0..<w)
        case 0x2589...0x258F:                                                                    // ▉ … ▏
            let k = 8 - Int(code - 0x2588)
            return rect(rows: 0..<h, cols: 0..<widthEighths(k))
        case 0x2590: return rect(rows: 0..<h, cols: halfW..<w)                                   // ▐
        // Shades as fractional coverage rather than a dither pattern: the caller blends fg over bg,
        // which tiles without moiré and reads as the same light, medium and dark tones.
        case 0x2591: return rect(rows: 0..<h, cols: 0..<w, value: 64)                           // ░
        case 0x2592: return rect(rows: 0..<h, cols: 0..<w, value: 128)                          // ▒
        case 0x2593: return rect(rows: 0..<h, cols: 0..<w, value: 191)                          // ▓
        case 0x2594: return rect(rows: 0..<heightEighths(1), cols: 0..<w)                      // ▔
        case 0x2595: return rect(rows: 0..<h, cols: (w - widthEighths(1))..<w)                 // ▕
        case 0x2596: return ll                                                                   // ▖
        case 0x2597: return lr                                                                   // ▗
        case 0x2598: return ul                                                                   // ▘
        case 0x2599: return union(union(ul, ll), lr)                                             // ▙
        case 0x259A: return union(ul, lr)                                                        // ▚
        case 0x259B: return union(union(ul, ur), ll)                                             // ▛
        case 0x259C: return union(union(ul, ur), lr)                                             // ▜
        case 0x259D: return ur                                                                   // ▝
        case 0x259E: return union(ur, ll)                                                        // ▞
        case 0x259F: return union(union(ur, ll), lr)                                             // ▟
        default: return nil
        }
    }

    // MARK: box drawing

    /// Which arms a box-drawing character has and how heavy each is (0 none, 1 light, 2 heavy).
    struct Arms { var left = 0, right = 0, up = 0, down = 0 }

    /// The straight light and heavy lines, corners, tees and crosses, and the half lines. Arcs,
    /// dashes and double lines come from the font.
    static let boxArms: [UInt32: Arms] = [
        0x2500: Arms(left: 1, right: 1), 0x2501: Arms(left: 2, right: 2),                        // ─ ━
        0x2502: Arms(up: 1, down: 1), 0x2503: Arms(up: 2, down: 2),                              // │ ┃
        0x250C: Arms(right: 1, down: 1), 0x250F: Arms(right: 2, down: 2),                        // ┌ ┏
        0x2510: Arms(left: 1, down: 1), 0x2513: Arms(left: 2, down: 2),                          // ┐ ┓
        0x2514: Arms(right: 1, up: 1), 0x2517: Arms(right: 2, up: 2),                            // └ ┗
        0x2518: Arms(left: 1, up: 1), 0x251B: Arms(left: 2, up: 2),                              // ┘ ┛
        0x251C: Arms(right: 1, up: 1, down: 1), 0x2523: Arms(right: 2, up: 2, down: 2),          // ├ ┣
        0x2524: Arms(left: 1, up: 1, down: 1), 0x252B: Arms(left: 2, up: 2, down: 2),            // ┤ ┫
        0x252C: Arms(left: 1, right: 1, down: 1), 0x2533: Arms(left: 2, right: 2, down: 2),      // ┬ ┳
        0x2534: Arms(left: 1, right: 1, up: 1), 0x253B: Arms(left: 2, right: 2, up: 2),          // ┴ ┻
        0x253C: Arms(left: 1, right: 1, up: 1, down: 1),                                         // ┼
        0x254B: Arms(left: 2, right: 2, up: 2, down: 2),                                         // ╋
        0x2574: Arms(left: 1), 0x2575: Arms(up: 1), 0x2576: Arms(right: 1), 0x2577: Arms(down: 1), // ╴ ╵ ╶ ╷
        0x2578: Arms(left: 2), 0x2579: Arms(up: 2), 0x257A: Arms(right: 2), 0x257B: Arms(down: 2), // ╸ ╹ ╺ ╻
    ]

    /// The middle row and column every line runs through.
    static let midRow = 9, midCol = 4

    /// Draws the arms from the cell's edges to its middle. A horizontal arm is `weight` rows thick
    /// from `midRow` down, a vertical one `weight` columns from `midCol` right; arms running towards
    /// the middle extend across the other direction's thickness so corners close without a notch.
    static func box(_ a: Arms) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: w * h)
        let across = max(1, a.up, a.down), along = max(1, a.left, a.right)
        func fill(rows: Range<Int>, cols: Range<Int>) { for y in rows { for x in cols { m[y * w + x] = 255 } } }
        if a.left > 0 { fill(rows: midRow..<(midRow + a.left), cols: 0..<(midCol + across)) }
        if a.right > 0 { fill(rows: midRow..<(midRow + a.right), cols: midCol..<w) }
        if a.up > 0 { fill(rows: 0..<(midRow + along), cols: midCol..<(midCol + a.up)) }
        if a.down > 0 { fill(rows: midRow..<h, cols: midCol..<(midCol + a.down)) }
        return m
    }
}
