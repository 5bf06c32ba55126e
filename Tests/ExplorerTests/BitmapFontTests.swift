import XCTest
import Engine
@testable import Explorer

/// The snapshot font: the generated tables decode, letters are told apart, and the geometric
/// glyphs tile exactly.
final class BitmapFontTests: XCTestCase {
    let w = BitmapFont.cellWidth, h = BitmapFont.cellHeight

    /// Every non-ASCII character the explorer draws.
    static let explorerChars = Array("─│┌┐└┘├┤┬┴┼←→↑↓…•·●○▏▎▍▌▋▊▉█▀▄▐░▒▓▁▂▃▅▆▇■□▸◂✓✗×÷°µ²")

    func mask(_ ch: Character, bold: Bool = false, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
        guard let m = BitmapFont.mask(ch, bold: bold) else {
            XCTFail("no glyph for \(ch)", file: file, line: line)
            return []
        }
        XCTAssertEqual(m.count, w * h, "mask size of \(ch)", file: file, line: line)
        return m
    }

    func covered(_ m: [UInt8]) -> Int { m.filter { $0 > 0 }.count }
    func at(_ m: [UInt8], _ x: Int, _ y: Int) -> UInt8 { m[y * w + x] }

    func testCellSize() {
        XCTAssertEqual(w, 9)
        XCTAssertEqual(h, 18)
    }

    func testTablesDecodeCompletely() {
        let regular = BitmapFont.regularGlyphs, bold = BitmapFont.boldGlyphs
        XCTAssertEqual(regular.malformed, [])
        XCTAssertEqual(bold.malformed, [])
        XCTAssertEqual(regular.masks.count, BitmapFontData.regularCount)
        XCTAssertEqual(bold.masks.count, BitmapFontData.boldCount)
        for line in (BitmapFontData.regular + "\n" + BitmapFontData.bold).split(separator: "\n") {
            let fields = line.split(separator: " ")
            XCTAssertEqual(fields.count, 2, "line \(line)")
            XCTAssertEqual(fields.last?.count, 18 * 3, "glyph string length in \(line)")
        }
        for code in UInt32(0x20)...0x7E {
            XCTAssertNotNil(regular.masks[code], "regular U+\(String(code, radix: 16))")
            XCTAssertNotNil(bold.masks[code], "bold U+\(String(code, radix: 16))")
        }
    }

    func testDecoderRejectsMalformedLines() {
        let good = "0041 " + String(repeating: "000", count: 18)
        XCTAssertNotNil(GlyphTable.decode(Substring(good), cellWidth: 9, cellHeight: 18))
        for bad in ["0041 " + String(repeating: "000", count: 17),         // a row short
                    "0041 " + String(repeating: "000", count: 17) + "200", // 10 bits wide
                    "0041 " + String(repeating: "00G", count: 18),         // not hex
                    "D800 " + String(repeating: "000", count: 18),         // a surrogate, no scalar
                    "0041"] {
            XCTAssertNil(GlyphTable.decode(Substring(bad), cellWidth: 9, cellHeight: 18), bad)
        }
        let table = GlyphTable(parsing: good + "\nnonsense\n", cellWidth: 9, cellHeight: 18)
        XCTAssertEqual(table.masks.count, 1)
        XCTAssertEqual(table.malformed, ["nonsense"])
    }

    func testSpaceIsEmpty() {
        XCTAssertEqual(covered(mask(" ")), 0)
        XCTAssertEqual(covered(mask(" ", bold: true)), 0)
    }

    func testLettersAndDigitsAreDistinct() {
        let chars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        for bold in [false, true] {
            var seen: [[UInt8]: Character] = [:]
            for ch in chars {
                let m = mask(ch, bold: bold)
                XCTAssertGreaterThan(covered(m), 0, "\(ch) bold \(bold) is empty")
                if let other = seen[m] { XCTFail("\(ch) and \(other) (bold \(bold)) have the same glyph") }
                seen[m] = ch
            }
        }
        XCTAssertNotEqual(mask("l"), mask("I"))
        XCTAssertNotEqual(mask("0"), mask("O"))
    }

    func testBoldIsHeavier() {
        XCTAssertGreaterThan(covered(mask("A", bold: true)), covered(mask("A")))
        XCTAssertNotEqual(mask("A", bold: true), mask("A"))
    }

    /// 9x18B lacks ✓ and friends: bold falls back to the regular glyph instead of a box.
    func testBoldFallsBackToRegular() {
        XCTAssertNil(BitmapFont.boldGlyphs.masks[0x2713], "premise: 9x18B has no ✓")
        XCTAssertEqual(mask("✓", bold: true), mask("✓"))
    }

    func testEveryExplorerCharacterHasAGlyph() {
        for ch in Self.explorerChars {
            XCTAssertNotNil(BitmapFont.mask(ch, bold: false), "regular \(ch)")
            XCTAssertNotNil(BitmapFont.mask(ch, bold: true), "bold \(ch)")
            if ch != " " { XCTAssertGreaterThan(covered(mask(ch)), 0, "\(ch) is empty") }
        }
        for v in UInt8(32)...126 {
            XCTAssertNotNil(BitmapFont.mask(Character(Unicode.Scalar(v)), bold: false))
        }
    }

    func testMissingGlyphsAreNil() {
        XCTAssertNil(BitmapFont.mask("\u{4E2D}", bold: false), "no CJK in 9x18's table")
        XCTAssertNil(BitmapFont.mask("e\u{301}", bold: false), "two scalars")
        XCTAssertNil(BitmapFont.mask("\t", bold: false))
    }

    func testUpperHalfBlockIsExactlyTheTopNineRows() {
        let m = mask("▀")
        for y in 0..<h { for x in 0..<w { XCTAssertEqual(at(m, x, y), y < 9 ? 255 : 0, "(\(x),\(y))") } }
    }

    func testFullBlockCoversEverything() {
        XCTAssertEqual(mask("█"), [UInt8](repeating: 255, count: w * h))
        XCTAssertEqual(mask("█", bold: true), mask("█"))
    }

    func testHalvesAreComplementary() {
        XCTAssertEqual(zip(mask("▀"), mask("▄")).map { Int($0) + Int($1) }, [Int](repeating: 255, count: w * h))
        XCTAssertEqual(zip(mask("▌"), mask("▐")).map { Int($0) + Int($1) }, [Int](repeating: 255, count: w * h))
    }

    func testEighthsStepByRowsAndColumns() {
        // ▁▂▃▄▅▆▇█: bottom-aligned, full width, strictly growing, rounded eighths of 18 rows.
        let lower = Array("▁▂▃▄▅▆▇█").map { mask($0) }
        XCTAssertEqual(lower.map(covered), [2, 5, 7, 9, 11, 14, 16, 18].map { $0 * w })
        for m in lower { XCTAssertEqual(at(m, 0, h - 1), 255); XCTAssertEqual(at(m, w - 1, h - 1), 255) }
        // ▏▎▍▌▋▊▉█: left-aligned, full height, rounded eighths of 9 columns.
        let left = Array("▏▎▍▌▋▊▉█").map { mask($0) }
        XCTAssertEqual(left.map(covered), [1, 2, 3, 5, 6, 7, 8, 9].map { $0 * h })
        for m in left { XCTAssertEqual(at(m, 0, 0), 255); XCTAssertEqual(at(m, 0, h - 1), 255) }
    }

    func testShadesAreOrderedUniformCoverage() {
        let values = Array("░▒▓").map { Set(mask($0)) }
        XCTAssertEqual(values.map(\.count), [1, 1, 1], "each shade is uniform")
        let levels = values.compactMap(\.first)
        XCTAssertEqual(levels, levels.sorted())
        XCTAssertEqual(Set(levels).count, 3)
    }

    func testHorizontalLineJoinsNeighbours() {
        let m = mask("─")
        let rows = (0..<h).filter { y in at(m, 0, y) > 0 }
        XCTAssertEqual(rows.count, 1, "one light row")
        guard let y = rows.first else { return }
        for x in 0..<w { XCTAssertEqual(at(m, x, y), 255, "─ row \(y) col \(x)") }
        XCTAssertEqual(covered(m), w)
        // The tee and cross meet ─ on the same row at both edges.
        for ch: Character in ["┼", "┬", "┴"] {
            XCTAssertEqual(at(mask(ch), 0, y), 255, "\(ch) left edge")
            XCTAssertEqual(at(mask(ch), w - 1, y), 255, "\(ch) right edge")
        }
        XCTAssertEqual(at(mask("┌"), w - 1, y), 255)
        XCTAssertEqual(at(mask("┌"), 0, y), 0)
        XCTAssertEqual(at(mask("┐"), 0, y), 255)
    }

    func testVerticalLineSpansTheCell() {
        let m = mask("│")
        let cols = (0..<w).filter { x in at(m, x, 0) > 0 }
        XCTAssertEqual(cols.count, 1)
        guard let x = cols.first else { return }
        XCTAssertEqual(at(m, x, 0), 255)
        XCTAssertEqual(at(m, x, h - 1), 255)
        XCTAssertEqual(covered(m), h)
        // Corners and tees continue │ on the same column.
        XCTAssertEqual(at(mask("┌"), x, h - 1), 255)
        XCTAssertEqual(at(mask("└"), x, 0), 255)
        XCTAssertEqual(at(mask("├"), x, 0), 255)
        XCTAssertEqual(at(mask("┤"), x, h - 1), 255)
        // Corner: the horizontal and vertical arms meet (no notch at the middle).
        let corner = mask("┘")
        XCTAssertEqual(covered(corner), (x + 1) + (h / 2 + 1) - 1)
    }

    func testDrawPaintsForegroundOnMaskAndBackgroundElsewhere() {
        var img = RGBImage(width: 3 * w, height: 2 * h)
        let fg = RGB8(250, 200, 10), bg = RGB8(5, 20, 40)
        BitmapFont.draw("A", bold: false, underline: false, fg: fg, bg: bg, col: 1, row: 1, into: &img)
        let m = mask("A")
        func pixel(_ x: Int, _ y: Int) -> RGB8 {
            let i = (y * img.width + x) * 3
            return RGB8(img.pixels[i], img.pixels[i + 1], img.pixels[i + 2])
        }
        var fgCount = 0
        for y in 0..<h {
            for x in 0..<w {
                let expected = at(m, x, y) == 255 ? fg : bg
                if expected == fg { fgCount += 1 }
                XCTAssertEqual(pixel(w + x, h + y), expected, "(\(x),\(y))")
            }
        }
        XCTAssertEqual(fgCount, covered(m))
        XCTAssertEqual(pixel(0, 0), RGB8(0, 0, 0), "other cells untouched")
        XCTAssertEqual(pixel(w - 1, h), RGB8(0, 0, 0))
        XCTAssertEqual(pixel(2 * w, h), RGB8(0, 0, 0))
    }

    func testUnderlineSetsTheBottomRow() {
        var img = RGBImage(width: w, height: h)
        let fg = RGB8(255, 255, 255), bg = RGB8(0, 0, 128)
        BitmapFont.draw(" ", bold: false, underline: true, fg: fg, bg: bg, col: 0, row: 0, into: &img)
        for x in 0..<w {
            let bottom = ((h - 1) * w + x) * 3, above = ((h - 2) * w + x) * 3
            XCTAssertEqual(Array(img.pixels[bottom..<(bottom + 3)]), [255, 255, 255])
            XCTAssertEqual(Array(img.pixels[above..<(above + 3)]), [0, 0, 128])
        }
    }

    func testShadeBlendsAndMissingGlyphDrawsABox() {
        var img = RGBImage(width: 2 * w, height: h)
        BitmapFont.draw("▒", bold: false, underline: false, fg: RGB8(255, 255, 255), bg: RGB8(0, 0, 0),
                        col: 0, row: 0, into: &img)
        XCTAssertEqual(img.pixels[0], 128)
        BitmapFont.draw("\u{4E2D}", bold: false, underline: false, fg: RGB8(255, 0, 0), bg: RGB8(0, 0, 0),
                        col: 1, row: 0, into: &img)
        let lit = stride(from: 0, to: img.pixels.count, by: 3).filter { i in
            (i / 3) % img.width >= w && img.pixels[i] == 255
        }
        XCTAssertEqual(lit.count, covered(BitmapFont.placeholder))
        XCTAssertGreaterThan(lit.count, 0)
    }

    func testDrawClipsAtTheImageEdge() {
        var img = RGBImage(width: w + 4, height: h - 3)
        BitmapFont.draw("█", bold: false, underline: true, fg: RGB8(1, 2, 3), bg: RGB8(0, 0, 0),
                        col: 1, row: 0, into: &img)
        BitmapFont.draw("█", bold: false, underline: false, fg: RGB8(1, 2, 3), bg: RGB8(0, 0, 0),
                        col: -1, row: 5, into: &img)
        XCTAssertEqual(img.pixels[(0 * img.width + w) * 3], 1, "the visible part of the clipped cell is drawn")
        XCTAssertEqual(img.pixels[0], 0)
    }
}
