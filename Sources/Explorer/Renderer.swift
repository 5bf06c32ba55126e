import Compression
import Engine

/// Draws the explorer into a cell buffer: a title, the body of the chosen layout (one layer large
/// with its side panel, every layer's map side by side, or the three methods side by side), a status
/// line and a footer of keys; the help overlay on top. Pure: the same inputs give the same cells,
/// which is what the tests check.
public struct Renderer {
    public struct Options: Sendable {
        public var color: ColorMode
        /// Half blocks and box drawing need a UTF-8 locale; otherwise spaces with colour and ASCII.
        public var unicode: Bool
        public init(color: ColorMode, unicode: Bool) { self.color = color; self.unicode = unicode }
    }

    public static let minWidth = 80, minHeight = 24

    /// Whether the view fits (else only the size message is drawn, and `ExplorerState.handle` takes q alone).
    public static func fits(width: Int, height: Int) -> Bool { width >= minWidth && height >= minHeight }
    /// Columns the one-layer layout keeps for its side panel (40 wide, with a selected patch's
    /// columns) and the gaps around it.
    static let panelColumns = 44
    /// Cells a patch needs before glyphs go over the picture by default (`t` overrides): the
    /// centers' letters in the states and group views, the digits in the score and error views.
    /// Below that a glyph would hide too much of the patch.
    public static let glyphCells = 32

    public let modelName: String
    public let config: ViTConfig
    public let classNames: [String]
    public let options: Options
    let rasters = RasterCache()

    public init(modelName: String, config: ViTConfig, classNames: [String], options: Options) {
        self.modelName = modelName; self.config = config; self.classNames = classNames; self.options = options
    }

    /// `analysis`: the result for the state's own method; `methods`: results for the other methods
    /// at the same settings, which the methods layout shows beside it. `caption`: the demo's line
    /// (shown instead of the status, marked DEMO).
    public func render(_ s: ExplorerState, analysis a: Analysis?, methods: [ExplorerState.Method: Analysis] = [:],
                       image: ExplorerImage, computing: Bool, width: Int, height: Int, caption: String? = nil) -> CellBuffer {
        var buf = CellBuffer(width: width, height: height)
        guard Self.fits(width: width, height: height) else {
            let msg = "terminal too small: \(width)x\(height), need \(Self.minWidth)x\(Self.minHeight)", keys = "q quits"
            buf.put(msg, x: max(0, (width - msg.count) / 2), y: height / 2)
            if height / 2 + 1 < height { buf.put(keys, x: max(0, (width - keys.count) / 2), y: height / 2 + 1) }
            return buf
        }
        let areas = ScreenAreas(width: width, height: height)
        let title = " TokenScope  \(modelName)  image \(s.image + 1)/\(s.imageCount): \(image.name)" +
            (image.label.map { "  label: \(name($0))" } ?? "")
        buf.fill(x: 0, y: 0, width: width, height: 1, with: Cell(" ", attrs: .reverse))
        buf.put(title, x: areas.title.x, y: areas.title.y, attrs: .reverse, maxWidth: width)

        switch s.layout {
        case .layer: drawLayerLayout(&buf, s, a, image, area: areas.body)
        case .strip: drawStrip(&buf, s, a, image, area: areas.body)
        case .methods:
            var all = methods
            if let a { all[s.method] = a }
            drawMethods(&buf, s, all, image, area: areas.body)
        }

        if let caption {
            buf.put("DEMO", x: areas.status.x, y: areas.status.y, attrs: [.reverse, .bold])
            buf.put(caption, x: areas.status.x + 5, y: areas.status.y, attrs: .bold, maxWidth: areas.status.width - 5)
        } else {
            let status = computing ? "computing..." : (s.status.isEmpty ? (a?.planNote ?? "") : s.status)
            buf.put(elided(status, areas.status.width), x: areas.status.x, y: areas.status.y, attrs: computing ? .bold : [],
                    maxWidth: areas.status.width)
        }
        // The footer takes the main keys in order of importance while they fit.
        let items = ["q quit", "? help", "\(arrows.lr) layer", "\(arrows.ud) keep", "1-3 layout", "v view", "m method", "t glyphs",
                     "n/p image", "[] prune", "s plan", "e export"]
        var footer = ""
        for it in items where footer.count + it.count + 2 <= width { footer += " " + it + " " }
        buf.fill(x: 0, y: areas.footer.y, width: width, height: 1, with: Cell(" ", attrs: .reverse))
        buf.put(footer, x: 0, y: areas.footer.y, attrs: .reverse, maxWidth: width)
        if s.showHelp { drawHelp(&buf, width: width, height: height) }
        return buf
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

    /// Glyph of a patch state: the text map's alphabet (`PatchMap.glyph`).
    public static func glyph(_ st: PatchState) -> Character { PatchMap.glyph(st) }

    // MARK: - Maps

    /// The painter for layer `layerIndex` of `a` in the state's view, at `geometry`.
    func painter(_ s: ExplorerState, _ a: Analysis?, layer layerIndex: Int, image: ExplorerImage, geometry m: MapGeometry) -> MapPainter {
        let np = config.numPatches, g = config.grid
        let layer = a.flatMap { $0.layers.indices.contains(layerIndex) ? $0.layers[layerIndex] : nil }
        let states = layer?.states ?? [PatchState](repeating: .kept, count: np)
        let overlay: MapPainter.Overlay, glyphs: [Character]
        switch s.view {
        case .states, .groups:
            let o = PatchOverlay(states: layer?.states, grid: g, strength: s.view == .groups ? .strong : .picture)
            overlay = .states(o)
            // A group of one patch runs as its own token: `#`, as the colour says, not a center's letter.
            glyphs = states.enumerated().map { j, st in o.isPlain(j) ? "#" : Self.glyph(st) }
        case .scores:
            let levels = ScoreScale.percentiles(layer?.liveScores ?? [])
            let v = (0..<np).map { $0 < levels.count ? levels[$0] : 0 }
            overlay = .heat(v)
            glyphs = v.map { PatchMap.errorDigit(Float($0)) }
        case .restoreError:
            let e = (0..<np).map { j in Double(min(1, layer.map { j < $0.restoreError.count ? $0.restoreError[j] : 0 } ?? 0)) }
            overlay = .heat(e)
            glyphs = e.map { PatchMap.errorDigit(Float($0)) }
        }
        let sizes = groupSizes(states)
        let attrs: [Cell.Attrs] = s.view == .states || s.view == .groups ? states.map { st in
            switch st {
            case .center(let grp) where sizes[grp, default: 0] > 1: return .bold
            case .pruned, .unassigned, .dropped, .discarded: return .dim
            default: return []
            }
        } : [Cell.Attrs](repeating: [], count: np)
        let show: GlyphShow
        switch s.glyphs {
        case .on: show = .all
        case .off: show = .none
        case .auto: show = m.cellsPerPatch >= Self.glyphCells ? (s.view == .states || s.view == .groups ? .centers : .all) : .none
        }
        let raster = rasters.raster(pixels: image.pixels, size: image.size, width: m.columns, height: m.grid * m.pixels)
        return MapPainter(geometry: m, raster: raster, overlay: overlay, glyphs: glyphs, glyphAttrs: attrs, showGlyphs: show,
                          selected: s.selectedPatch.flatMap { $0 < np ? $0 : nil }, color: options.color, unicode: options.unicode)
    }

    func groupSizes(_ states: [PatchState]) -> [Int: Int] {
        var size: [Int: Int] = [:]
        for st in states { if let g = st.group { size[g, default: 0] += 1 } }
        return size
    }

    /// Without colour a patch needs a cell of its own for its glyph: no two-patches-per-cell maps.
    var minMapPixels: Int { options.color.drawsPicture ? 1 : 2 }

    // MARK: - Mouse

    /// The patch under a screen cell (a mouse click) in the layout on screen, or nil outside a map.
    public func patch(atX x: Int, y: Int, width: Int, height: Int, layout: ExplorerState.Layout = .layer, layer: Int = 0,
                      method: ExplorerState.Method = .first) -> Int? {
        guard Self.fits(width: width, height: height) else { return nil }
        let body = ScreenAreas(width: width, height: height).body
        switch layout {
        case .layer:
            let (mapArea, _) = layerAreas(body)
            guard let m = layerMap(mapArea) else { return nil }
            return m.patch(atX: x - mapArea.x, y: y - mapArea.y)
        case .strip, .methods:
            // A slot's map starts on the row under its label.
            let plan = layout == .strip ? stripPlan(body, selected: layer)
                : methodsPlan(body, selected: ExplorerState.Method.allCases.firstIndex(of: method) ?? 0)
            return plan.slots.lazy.compactMap { plan.geometry.patch(atX: x - $0.x, y: y - $0.y - 1) }.first
        }
    }

    // MARK: - Help

    func drawHelp(_ buf: inout CellBuffer, width: Int, height: Int) {
        let rows = ExplorerState.keyHelp
        let w = min(width - 4, 76), h = rows.count + 4
        let x0 = (width - w) / 2, y0 = max(1, (height - h) / 2)
        buf.fill(x: x0, y: y0, width: w, height: h, with: Cell(" ", attrs: .reverse))
        drawBox(&buf, Rect(x: x0, y: y0, width: w, height: h), attrs: .reverse)
        buf.put(" HELP: keys ", x: x0 + 2, y: y0, attrs: [.reverse, .bold])
        for (i, r) in rows.enumerated() {
            buf.put(r.keys, x: x0 + 2, y: y0 + 2 + i, attrs: [.reverse, .bold], maxWidth: 10)
            buf.put(r.what, x: x0 + 13, y: y0 + 2 + i, attrs: .reverse, maxWidth: w - 15)
        }
    }

    func drawBox(_ buf: inout CellBuffer, _ r: Rect, attrs: Cell.Attrs = []) {
        let (hz, vt, tl, tr, bl, br): (Character, Character, Character, Character, Character, Character) =
            options.unicode ? ("─", "│", "┌", "┐", "└", "┘") : ("-", "|", "+", "+", "+", "+")
        for x in r.x..<r.maxX { buf[x, r.y] = Cell(hz, attrs: attrs); buf[x, r.maxY - 1] = Cell(hz, attrs: attrs) }
        for y in r.y..<r.maxY { buf[r.x, y] = Cell(vt, attrs: attrs); buf[r.maxX - 1, y] = Cell(vt, attrs: attrs) }
        buf[r.x, r.y] = Cell(tl, attrs: attrs); buf[r.maxX - 1, r.y] = Cell(tr, attrs: attrs)
        buf[r.x, r.maxY - 1] = Cell(bl, attrs: attrs); buf[r.maxX - 1, r.maxY - 1] = Cell(br, attrs: attrs)
    }
}
