import Engine

/// What the screen would show, as a picture: every cell of a frame drawn with the built-in font
/// (half blocks as two pixels of colour each), on a dark terminal theme. This is how the README's
/// pictures are made and how a bug report shows what a user sees (`explore --snapshot`).
public enum ScreenSnapshot {
    /// The theme's default colours (a dark terminal, as most are).
    public static let foreground = RGB8(220, 220, 220), background = RGB8(18, 18, 18)

    public static func render(_ buf: CellBuffer) -> RGBImage {
        var img = RGBImage(width: buf.width * BitmapFont.cellWidth, height: buf.height * BitmapFont.cellHeight)
        for y in 0..<buf.height {
            for x in 0..<buf.width {
                let c = buf[x, y]
                var fg = rgb(c.fg, default: foreground), bg = rgb(c.bg, default: background)
                if c.attrs.contains(.reverse) { swap(&fg, &bg) }
                if c.attrs.contains(.dim) { fg = RGB8(mid(fg.r, bg.r), mid(fg.g, bg.g), mid(fg.b, bg.b)) }
                BitmapFont.draw(c.char, bold: c.attrs.contains(.bold), underline: c.attrs.contains(.underline), fg: fg, bg: bg,
                                col: x, row: y, into: &img)
            }
        }
        return img
    }

    static func rgb(_ c: CellColor, default d: RGB8) -> RGB8 {
        switch c {
        case .terminalDefault: return d
        case .palette(let i): return Palette.rgb(ofIndex: i).rgb8
        case .rgb(let v): return v
        }
    }

    static func mid(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Int(a) + Int(b)) / 2) }
}
