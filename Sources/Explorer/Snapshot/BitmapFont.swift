// The built-in font of `--snapshot`: turns a cell's character into pixels so a snapshot needs no
// font files, no font library and no network at run time.
//
// Where the glyphs come from:
// - Text, arrows, bullets, shapes, dingbats: X11's misc-fixed 9x18 (regular) and 9x18B (bold),
//   ISO10646-1, as shipped in Debian's xfonts-base (/usr/share/fonts/X11/misc/9x18.pcf.gz,
//   9x18B.pcf.gz), converted by `.ci/gen-bitmap-font` into BitmapFontData.swift. Regenerate with
//       .ci/gen-bitmap-font > Sources/Explorer/Snapshot/BitmapFontData.swift
//   Licence (/usr/share/doc/xfonts-base/copyright):
//       font-misc-misc/COPYING:
//           "Public domain font.  Share and enjoy."
// - Block elements (U+2580-U+259F) and straight box-drawing lines: computed in GeometricGlyphs.swift,
//   so that bars and borders tile without seams.
//
// 9x18B lacks some symbols 9x18 has (● ○ ■ □ ▸ ◂ ✓ ✗ among them); bold then falls back to the
// regular glyph, as terminals do, rather than to the placeholder box.

import Engine

/// A terminal font as bitmaps: each cell is `cellWidth` x `cellHeight` pixels.
public enum BitmapFont {
    public static let cellWidth = 9
    public static let cellHeight = 18

    /// Coverage of each pixel of the cell for `ch`: row-major, `cellWidth` x `cellHeight`, 0...255
    /// (0 or 255 for font glyphs and lines, fractional for the shades ░ ▒ ▓), or nil when the font
    /// has no glyph for it (the caller draws a placeholder box; `draw` does so itself).
    /// A character of more than one Unicode scalar (combining marks, emoji sequences) has no glyph.
    public static func mask(_ ch: Character, bold: Bool) -> [UInt8]? {
        let scalars = ch.unicodeScalars
        guard scalars.count == 1, let scalar = scalars.first else { return nil }
        let code = scalar.value
        if let geometric = GeometricGlyphs.mask(code) { return geometric }
        if bold, let glyph = boldGlyphs.masks[code] { return glyph }
        return regularGlyphs.masks[code]
    }

    /// Draws `ch` into `img` at cell (col, row): background fills the cell, foreground where the mask
    /// covers (blended by coverage), the bottom pixel row in foreground when `underline`. A character
    /// without a glyph is drawn as a placeholder box. Pixels outside the image are clipped.
    public static func draw(_ ch: Character, bold: Bool, underline: Bool, fg: RGB8, bg: RGB8,
                            col: Int, row: Int, into img: inout RGBImage) {
        let m = mask(ch, bold: bold) ?? placeholder
        let x0 = col * cellWidth, y0 = row * cellHeight
        let width = img.width, height = img.height
        img.pixels.withUnsafeMutableBufferPointer { px in
            for y in 0..<cellHeight {
                let py = y0 + y
                guard py >= 0, py < height else { continue }
                let underlined = underline && y == cellHeight - 1
                for x in 0..<cellWidth {
                    let pxX = x0 + x
                    guard pxX >= 0, pxX < width else { continue }
                    let a = underlined ? 255 : Int(m[y * cellWidth + x])
                    let i = (py * width + pxX) * 3
                    px[i] = blend(fg.r, bg.r, a)
                    px[i + 1] = blend(fg.g, bg.g, a)
                    px[i + 2] = blend(fg.b, bg.b, a)
                }
            }
        }
    }

    /// `fg` over `bg` at coverage `a` (0...255), rounded: exact `bg` at 0 and exact `fg` at 255.
    static func blend(_ fg: UInt8, _ bg: UInt8, _ a: Int) -> UInt8 {
        UInt8((Int(fg) * a + Int(bg) * (255 - a) + 127) / 255)
    }

    /// What `draw` shows for a character the font lacks: the outline of a box in the letter area
    /// (columns 1-7, rows 3-14), like a terminal's missing-glyph box.
    static let placeholder: [UInt8] = {
        var m = [UInt8](repeating: 0, count: cellWidth * cellHeight)
        for y in 3...14 {
            for x in 1...7 where y == 3 || y == 14 || x == 1 || x == 7 { m[y * cellWidth + x] = 255 }
        }
        return m
    }()

    /// The decoded tables, built on first use (Swift initialises static lets once, thread-safely).
    static let regularGlyphs = GlyphTable(parsing: BitmapFontData.regular, cellWidth: cellWidth, cellHeight: cellHeight)
    static let boldGlyphs = GlyphTable(parsing: BitmapFontData.bold, cellWidth: cellWidth, cellHeight: cellHeight)
}
