import Compression

/// Which patches get their glyph over a coloured picture.
enum GlyphShow {
    case none, all
    /// Only the centers of merged groups: the mark a large patch has room for.
    case centers

    func includes(_ j: Int, _ overlay: MapPainter.Overlay) -> Bool {
        switch self {
        case .none: return false
        case .all: return true
        case .centers:
            if case .states(let o) = overlay, j < o.roles.count, case .center = o.roles[j] { return true }
            return false
        }
    }
}

/// Draws one patch map (the picture with one layer's overlay) into a cell buffer: half blocks in
/// colour, or, without colour, glyph density with each patch's state glyph.
struct MapPainter {
    /// What the map shows of each patch.
    enum Overlay {
        /// States over the picture (the states and group views).
        case states(PatchOverlay)
        /// A value in [0, 1] per patch as heat over the picture (scores, restore error).
        case heat([Double])
    }

    let geometry: MapGeometry
    let raster: Raster
    let overlay: Overlay
    /// Per patch: its glyph (state letter, or score or error digit).
    let glyphs: [Character]
    /// Per patch: attributes of its glyph without colour (centers bold, skipped patches dim).
    let glyphAttrs: [Cell.Attrs]
    /// Which glyphs go over a coloured picture (without colour, all of them always).
    let showGlyphs: GlyphShow
    let selected: Int?
    let color: ColorMode
    let unicode: Bool

    static let heatAmount = 0.7

    func shaded(_ c: RGB, patch j: Int, u: Int, v: Int) -> RGB {
        switch overlay {
        case .states(let o): return o.shade(c, patch: j, u: u, v: v, side: geometry.pixels)
        case .heat(let values): return c.mixed(with: Palette.heat(j < values.count ? values[j] : 0), Self.heatAmount)
        }
    }

    func draw(into buf: inout CellBuffer, x0: Int, y0: Int) {
        let g = geometry.grid, p = geometry.pixels, side = g * p
        let background = RGB(0, 0, 0)
        for cy in 0..<geometry.rows {
            for cx in 0..<geometry.columns {
                // A cell is one pixel wide (column cx) and two tall (rows 2cy and 2cy + 1).
                func pixel(_ py: Int) -> (RGB, Int?) {
                    guard py < side else { return (background, nil) }
                    let j = (py / p) * g + cx / p
                    return (shaded(raster.pixel(cx, py), patch: j, u: cx % p, v: py % p), j)
                }
                let (top, jt) = pixel(2 * cy), (bottom, jb) = pixel(2 * cy + 1)
                let j = jt ?? jb ?? 0
                // The glyph cell of a patch is its top-left cell (with one pixel per patch, the
                // cell's top patch).
                let isGlyphCell = cx % p == 0 && (2 * cy) % p == 0
                let isSelected = selected == j
                let glyph: Character? = isGlyphCell && (isSelected || !color.drawsPicture || showGlyphs.includes(j, overlay)) ? glyphs[j] : nil
                var attrs: Cell.Attrs = glyph != nil ? glyphAttrs[j] : []
                if isSelected && isGlyphCell { attrs.insert(.reverse) }
                buf[x0 + cx, y0 + cy] = cell(top: top, bottom: bottom, glyph: glyph, attrs: attrs, patch: j, x: cx, y: cy)
            }
        }
    }

    /// One cell: a half block (top and bottom pixels), a glyph over the pixels' mean colour, or
    /// without colour the glyph or the density character of the mean.
    func cell(top: RGB, bottom: RGB, glyph: Character?, attrs: Cell.Attrs, patch j: Int, x: Int, y: Int) -> Cell {
        let mean = top.mixed(with: bottom, 0.5)
        switch color {
        case .c256, .truecolor:
            if let glyph {
                return Cell(glyph, fg: color.color(mean.luma > 140 ? RGB(0, 0, 0) : RGB(255, 255, 255)), bg: color.color(mean), attrs: attrs)
            }
            if unicode { return Cell("▀", fg: color.pictureColor(top, x: x, y: 2 * y), bg: color.pictureColor(bottom, x: x, y: 2 * y + 1)) }
            return Cell(" ", bg: color.pictureColor(mean, x: x, y: y))
        case .eight:
            var fg = CellColor.terminalDefault
            if case .states(let o) = overlay, let h = o.roles[j].hue { fg = .palette(Palette.groupBasic[h % Palette.groupBasic.count]) }
            return Cell(glyph ?? Palette.rampChar(mean), fg: fg, attrs: attrs)
        case .none:
            return Cell(glyph ?? Palette.rampChar(mean), attrs: glyph != nil && attrs.contains(.bold) ? attrs.union(.reverse) : attrs)
        }
    }
}
