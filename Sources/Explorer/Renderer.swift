import Compression
import Engine

/// Draws the explorer into a cell buffer: the image as a patch grid marked with each patch's state
/// in the selected layer, a side panel, a status line and a footer; the help overlay on top.
/// Pure: the same inputs give the same cells, which is what the tests check.
public struct Renderer {
    public struct Options: Sendable {
        public var color: ColorMode
        /// Half blocks and box drawing need a UTF-8 locale; otherwise spaces with colour and ASCII.
        public var unicode: Bool
        public init(color: ColorMode, unicode: Bool) { self.color = color; self.unicode = unicode }
    }

    public static let minWidth = 80, minHeight = 24

    public let modelName: String
    public let config: ViTConfig
    public let classNames: [String]
    public let options: Options

    public init(modelName: String, config: ViTConfig, classNames: [String], options: Options) {
        self.modelName = modelName; self.config = config; self.classNames = classNames; self.options = options
    }

    /// `caption`: the demo's line (shown instead of the status, marked DEMO).
    public func render(_ s: ExplorerState, analysis a: Analysis?, image: ExplorerImage, computing: Bool,
                       width: Int, height: Int, caption: String? = nil) -> CellBuffer {
        var buf = CellBuffer(width: width, height: height)
        guard width >= Self.minWidth, height >= Self.minHeight else {
            let msg = "terminal too small: \(width)x\(height), need \(Self.minWidth)x\(Self.minHeight)"
            buf.put(msg, x: max(0, (width - msg.count) / 2), y: height / 2)
            return buf
        }
        let title = " TokenScope  \(modelName)  image \(s.image + 1)/\(s.imageCount): \(image.name)" +
            (image.label.map { "  label: \(name($0))" } ?? "")
        buf.fill(x: 0, y: 0, width: width, height: 1, with: Cell(" ", attrs: .reverse))
        buf.put(title, x: 0, y: 0, attrs: .reverse, maxWidth: width)

        let g = config.grid
        let k = cellsPerPatch(width: width, height: height)
        drawGrid(&buf, s, a, image, x0: 1, y0: 2, k: k)
        drawPanel(&buf, s, a, x0: 2 * k * g + 3, y0: 2, width: width - (2 * k * g + 3) - 1, height: height - 4)

        if let caption {
            buf.put("DEMO", x: 1, y: height - 2, attrs: [.reverse, .bold])
            buf.put(caption, x: 6, y: height - 2, attrs: .bold, maxWidth: width - 7)
        } else {
            let status = computing ? "computing..." : (s.status.isEmpty ? (a?.planNote ?? "") : s.status)
            buf.put(elided(status, width - 2), x: 1, y: height - 2, attrs: computing ? .bold : [], maxWidth: width - 2)
        }
        // The footer takes the main keys in order of importance while they fit.
        let items = ["q quit", "? help", "\(arrows.lr) layer", "\(arrows.ud) keep", "[] prune", "v view", "s plan", "m method",
                     "n/p image", "e export"]
        var footer = ""
        for it in items where footer.count + it.count + 2 <= width { footer += " " + it + " " }
        buf.fill(x: 0, y: height - 1, width: width, height: 1, with: Cell(" ", attrs: .reverse))
        buf.put(footer, x: 0, y: height - 1, attrs: .reverse, maxWidth: width)
        if s.showHelp { drawHelp(&buf, width: width, height: height) }
        return buf
    }

    /// Each patch is 2k cells wide and k tall: as large as the window allows beside a 38-column panel.
    func cellsPerPatch(width: Int, height: Int) -> Int {
        let g = config.grid
        return max(1, min((height - 5) / g, (width - 40) / (2 * g)))
    }

    /// The patch under a screen cell (a mouse click), or nil outside the grid.
    public func patch(atX x: Int, y: Int, width: Int, height: Int) -> Int? {
        guard width >= Self.minWidth, height >= Self.minHeight else { return nil }
        let g = config.grid, k = cellsPerPatch(width: width, height: height)
        let px = (x - 1) / (2 * k), py = (y - 2) / k
        guard x >= 1, y >= 2, px < g, py < g else { return nil }
        return py * g + px
    }

    /// A status longer than the line loses its middle, not its end: "export written to /a/long/...name.txt"
    /// keeps the file name readable at 80 columns.
    func elided(_ text: String, _ width: Int) -> String {
        guard text.count > width, width > 8 else { return text }
        let mark = options.unicode ? "…" : "...", keep = width - mark.count
        let head = keep / 2, tail = keep - head
        return String(text.prefix(head)) + mark + String(text.suffix(tail))
    }

    var arrows: (lr: String, ud: String) { options.unicode ? ("←→/hl", "↑↓/kj") : ("<>/hl", "^v/kj") }

    func name(_ cls: Int) -> String { cls < classNames.count ? classNames[cls] : "class \(cls)" }

    // MARK: - Patch grid

    /// Glyph of a patch state: the text map's alphabet (`PatchMap.glyph`).
    public static func glyph(_ st: PatchState) -> Character { PatchMap.glyph(st) }

    func drawGrid(_ buf: inout CellBuffer, _ s: ExplorerState, _ a: Analysis?, _ img: ExplorerImage, x0: Int, y0: Int, k: Int) {
        let g = config.grid
        let layer = a?.layers[min(s.layer, (a?.layers.count ?? 1) - 1)]
        let raster = Raster(image: img, width: 2 * k * g, height: 2 * k * g)
        let scoreLevels = s.view == .scores ? ScoreScale.percentiles(layer?.liveScores ?? []) : []
        for py in 0..<g {
            for px in 0..<g {
                let j = py * g + px
                let st: PatchState? = layer?.states?[j]
                var tint: RGB?
                var tintAmount = 0.0
                var glyph: Character = st.map(Self.glyph) ?? "#"
                var attrs: Cell.Attrs = []
                switch s.view {
                case .states, .groups:
                    if let st, let t = Palette.tint(st, groupView: s.view == .groups) { tint = t.color; tintAmount = t.amount }
                    switch st {
                    case .center?: attrs = .bold
                    case .pruned?, .unassigned?, .dropped?: attrs = .dim
                    default: break
                    }
                case .scores:
                    let v = j < scoreLevels.count ? scoreLevels[j] : 0
                    tint = Palette.heat(v); tintAmount = 0.7
                    glyph = PatchMap.errorDigit(Float(v))
                case .restoreError:
                    let v = Double(min(1, layer?.restoreError[j] ?? 0))
                    tint = Palette.heat(v); tintAmount = 0.7
                    glyph = PatchMap.errorDigit(Float(v))
                }
                for cy in 0..<k {
                    for cx in 0..<(2 * k) {
                        let x = x0 + px * 2 * k + cx, y = y0 + py * k + cy
                        let top = raster.pixel(px * 2 * k + cx, 2 * (py * k + cy)), bottom = raster.pixel(px * 2 * k + cx, 2 * (py * k + cy) + 1)
                        let t = tint.map { top.mixed(with: $0, tintAmount) } ?? top
                        let b = tint.map { bottom.mixed(with: $0, tintAmount) } ?? bottom
                        let isGlyph = cx == 0 && cy == 0
                        let selected = s.selectedPatch == j && isGlyph
                        buf[x, y] = cell(top: t, bottom: b, glyph: isGlyph ? glyph : nil, attrs: selected ? attrs.union(.reverse) : attrs, group: st)
                    }
                }
            }
        }
    }

    /// One cell of the picture: a half block (top and bottom pixels) in 256 colours, a glyph over
    /// the mean colour where the patch's glyph goes, or ASCII density without colour.
    func cell(top: RGB, bottom: RGB, glyph: Character?, attrs: Cell.Attrs, group: PatchState?) -> Cell {
        let mean = top.mixed(with: bottom, 0.5)
        let lum = (mean.r * 0.299 + mean.g * 0.587 + mean.b * 0.114) / 255
        switch options.color {
        case .c256:
            if let glyph {
                return Cell(glyph, fg: lum > 0.55 ? 16 : 231, bg: Palette.index256(mean), attrs: attrs)
            }
            if options.unicode { return Cell("▀", fg: Palette.index256(top), bg: Palette.index256(bottom)) }
            return Cell(" ", bg: Palette.index256(mean))
        case .eight:
            var fg = -1
            switch group {
            case .center(let g)?, .merged(let g, _)?: fg = Palette.groupBasic[g % Palette.groupBasic.count]
            default: break
            }
            let ch = glyph ?? Palette.ramp[min(Palette.ramp.count - 1, Int(lum * Double(Palette.ramp.count)))]
            return Cell(ch, fg: fg, attrs: attrs)
        case .none:
            let ch = glyph ?? Palette.ramp[min(Palette.ramp.count - 1, Int(lum * Double(Palette.ramp.count)))]
            return Cell(ch, attrs: glyph != nil && attrs.contains(.bold) ? [.bold, .reverse] : attrs)
        }
    }

    // MARK: - Side panel

    func drawPanel(_ buf: inout CellBuffer, _ s: ExplorerState, _ a: Analysis?, x0: Int, y0: Int, width: Int, height: Int) {
        var y = y0
        func line(_ t: String, attrs: Cell.Attrs = []) {
            if y < y0 + height { buf.put(t, x: x0, y: y, attrs: attrs, maxWidth: width) }
            y += 1
        }
        line("layer \(s.layer + 1)/\(s.depth)   view: \(s.view.rawValue)", attrs: .bold)
        switch s.method {
        case .pruneMerge where s.scoreSource == .file:
            let recovery = a?.settings.first { $0.key == "recovery" }?.value
            line("PM plan: from the file" + (recovery.map { "  recovery \($0)" } ?? ""))
        case .pruneMerge:
            line(String(format: "PM keep %.2f prune %.2f  plan: ", s.keep, s.prune) + s.scoreSource.rawValue)
            line("   grouping \(s.grouping.rawValue)  recovery \(s.recovery.rawValue)")
        case .tome: line(String(format: "ToMe  keep %.2f  (r %d per block)", s.keep, s.tomeR ?? ExplorerEngine.tomeR(keep: s.keep, config: config)))
        case .evit: line(String(format: "EViT  keep %.2f  (keep rate)", s.keep))
        }
        if let a {
            line(String(format: "GFLOPs %.3f dense -> %.3f  %.0f ms", a.gflopsDense, a.gflopsCompressed, a.milliseconds))
            func top(_ t: [(cls: Int, prob: Float)]) -> String { t.prefix(3).map { "\(name($0.cls)) \(Int(($0.prob * 100).rounded()))%" }.joined(separator: ", ") }
            line("dense: " + top(a.denseTop))
            line((s.method == .pruneMerge ? "PM" : s.method.rawValue).padding(toLength: 7, withPad: " ", startingAt: 0) + top(a.compressedTop))
        } else {
            line("computing..."); line(""); line("")
        }
        switch (s.view, s.method) {
        case (.scores, _): line("0-9 score percentile (9: top tenth)")
        case (.restoreError, _): line("0-9 restore error vs dense (9: 0.9+)")
        case (_, .pruneMerge): line("A center  a merged  . pruned  : no center")
        case (_, .tome): line("A center  a merged  # own token")
        case (_, .evit): line("# kept  - dropped (fused into one token)")
        }
        let sel = s.selectedPatch.flatMap { $0 < config.numPatches ? $0 : nil }
        if let sel {
            line("patch \(sel) (row \(sel / config.grid), col \(sel % config.grid)): state group score")
        }
        line("blk  tokens in>run>out   GFLOPs" + (sel != nil ? " s  grp score" : ""), attrs: .underline)
        let rows = max(0, y0 + height - y)
        let depth = s.depth
        let first = max(0, min(s.layer - rows / 2, depth - rows))
        for l in first..<min(depth, first + rows) {
            let t: String
            if let L = a?.layers[l] {
                var row = String(format: "%3d  %4d > %4d > %4d  %.3f", l + 1, L.tokensIn, L.tokensRun, L.tokensOut, L.gflops)
                if let sel {
                    let st = L.states?[sel] ?? .kept
                    let grp = st.group.map { "\($0)" } ?? "-"
                    row += " \(PatchMap.glyph(st))" + String(repeating: " ", count: max(0, 4 - grp.count)) + grp +
                        String(format: " %.1e", Double(L.liveScores[sel]))
                }
                t = row
            } else {
                t = String(format: "%3d", l + 1)
            }
            line(t, attrs: l == s.layer ? .reverse : [])
        }
    }

    // MARK: - Help

    func drawHelp(_ buf: inout CellBuffer, width: Int, height: Int) {
        let rows = ExplorerState.keyHelp
        let w = min(width - 4, 76), h = rows.count + 4
        let x0 = (width - w) / 2, y0 = max(1, (height - h) / 2)
        buf.fill(x: x0, y: y0, width: w, height: h, with: Cell(" ", attrs: .reverse))
        let (hz, vt, tl, tr, bl, br): (Character, Character, Character, Character, Character, Character) =
            options.unicode ? ("─", "│", "┌", "┐", "└", "┘") : ("-", "|", "+", "+", "+", "+")
        for x in x0..<(x0 + w) { buf[x, y0] = Cell(hz, attrs: .reverse); buf[x, y0 + h - 1] = Cell(hz, attrs: .reverse) }
        for y in y0..<(y0 + h) { buf[x0, y] = Cell(vt, attrs: .reverse); buf[x0 + w - 1, y] = Cell(vt, attrs: .reverse) }
        buf[x0, y0] = Cell(tl, attrs: .reverse); buf[x0 + w - 1, y0] = Cell(tr, attrs: .reverse)
        buf[x0, y0 + h - 1] = Cell(bl, attrs: .reverse); buf[x0 + w - 1, y0 + h - 1] = Cell(br, attrs: .reverse)
        buf.put(" HELP: keys ", x: x0 + 2, y: y0, attrs: [.reverse, .bold])
        for (i, r) in rows.enumerated() {
            buf.put(r.keys, x: x0 + 2, y: y0 + 2 + i, attrs: [.reverse, .bold], maxWidth: 10)
            buf.put(r.what, x: x0 + 13, y: y0 + 2 + i, attrs: .reverse, maxWidth: w - 15)
        }
    }
}

/// The image resampled to the grid's pixel raster by area averaging in linear light.
struct Raster {
    let width: Int, height: Int
    let data: [RGB]

    init(image: ExplorerImage, width w: Int, height h: Int) {
        width = w; height = h
        let s = image.size
        func lin(_ v: UInt8) -> Double { let c = Double(v) / 255; return c <= 0.04045 ? c / 12.92 : Foundation.pow((c + 0.055) / 1.055, 2.4) }
        func srgb(_ v: Double) -> Double { let c = v <= 0.0031308 ? v * 12.92 : 1.055 * Foundation.pow(v, 1 / 2.4) - 0.055; return max(0, min(255, c * 255)) }
        var out = [RGB](repeating: RGB(0, 0, 0), count: w * h)
        for y in 0..<h {
            let sy0 = y * s / h, sy1 = max(sy0 + 1, (y + 1) * s / h)
            for x in 0..<w {
                let sx0 = x * s / w, sx1 = max(sx0 + 1, (x + 1) * s / w)
                var r = 0.0, g = 0.0, b = 0.0, n = 0.0
                for yy in sy0..<min(sy1, s) { for xx in sx0..<min(sx1, s) {
                    let i = (yy * s + xx) * 3
                    r += lin(image.pixels[i]); g += lin(image.pixels[i + 1]); b += lin(image.pixels[i + 2]); n += 1
                } }
                out[y * w + x] = n > 0 ? RGB(srgb(r / n), srgb(g / n), srgb(b / n)) : RGB(0, 0, 0)
            }
        }
        data = out
    }

    func pixel(_ x: Int, _ y: Int) -> RGB { data[min(height - 1, y) * width + min(width - 1, x)] }
}

import Foundation
