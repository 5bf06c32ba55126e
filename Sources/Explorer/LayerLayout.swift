import Compression

/// The one-layer layout: the selected layer's map, as large as the window allows, and beside it the
/// panel (settings, predictions, legend, the selected patch, and per layer the token counts with a
/// bar of tokens run against tokens in).
extension Renderer {
    func layerAreas(_ body: Rect) -> (map: Rect, panel: Rect) {
        // The panel keeps `panelColumns` columns.
        let mapLimit = Rect(x: body.x, y: body.y, width: body.width + 2 - Self.panelColumns, height: body.height)
        let used = layerMap(mapLimit)?.columns ?? 0
        let (map, panel) = body.splitLeft(used, gap: 2)
        return (Rect(x: map.x, y: map.y, width: map.width, height: mapLimit.height), panel)
    }

    func layerMap(_ area: Rect) -> MapGeometry? {
        MapGeometry.largest(grid: config.grid, columns: area.width, rows: area.height, minPixels: minMapPixels)
    }

    func drawLayerLayout(_ buf: inout CellBuffer, _ s: ExplorerState, _ a: Analysis?, _ img: ExplorerImage, area body: Rect) {
        let (mapArea, panel) = layerAreas(body)
        if let m = layerMap(mapArea) {
            painter(s, a, layer: s.layer, image: img, geometry: m).draw(into: &buf, x0: mapArea.x, y0: mapArea.y)
        } else {
            buf.put("the \(config.grid)x\(config.grid) grid does not fit: enlarge the window", x: mapArea.x, y: mapArea.y)
        }
        drawPanel(&buf, s, a, area: Rect(x: panel.x, y: panel.y, width: panel.width - 1, height: panel.height))
    }

    func drawPanel(_ buf: inout CellBuffer, _ s: ExplorerState, _ a: Analysis?, area: Rect) {
        let x0 = area.x, y0 = area.y, width = area.width, height = area.height
        var y = y0
        func line(_ t: String, attrs: Cell.Attrs = []) {
            if y < y0 + height { buf.put(t, x: x0, y: y, attrs: attrs, maxWidth: width) }
            y += 1
        }
        line("layer \(s.layer + 1)/\(s.depth)   view: \(s.view.rawValue)", attrs: .bold)
        for t in settingsLines(s, a) { line(t) }
        if let a {
            line(String(format: "GFLOPs %.3f dense -> %.3f  %.0f ms", a.gflopsDense, a.gflopsCompressed, a.milliseconds))
            line("dense: " + top(a.denseTop))
            line(s.method.method.shortTitle.padding(toLength: 7, withPad: " ", startingAt: 0) + top(a.compressedTop))
        } else {
            line("computing..."); line(""); line("")
        }
        for item in legend(s) where y < y0 + height {
            y += drawLegend(&buf, item, x: x0, y: y, width: width, maxLines: y0 + height - y)
        }
        let sel = s.selectedPatch.flatMap { $0 < config.numPatches ? $0 : nil }
        if let sel {
            line("patch \(sel) (row \(sel / config.grid), col \(sel % config.grid)) in every layer:")
        }
        // With a patch selected its columns come in and the counts close up, to fit 40 columns.
        let header = sel != nil ? "blk   in> run> out GFLOPs s  grp score" : "blk  tokens in>run>out   GFLOPs"
        let barWidth = min(20, width - header.count - 2)
        line(header + (barWidth >= 6 ? "  run/in/all" : ""), attrs: .underline)
        let rows = max(0, y0 + height - y)
        let depth = s.depth
        let first = max(0, min(s.layer - rows / 2, depth - rows))
        for l in first..<min(depth, first + rows) {
            var t: String
            var fraction: (run: Double, tokensIn: Double)?
            if let L = a?.layers[l] {
                t = String(format: sel == nil ? "%3d  %4d > %4d > %4d  %.3f" : "%3d %4d>%4d>%4d %.3f", l + 1, L.tokensIn, L.tokensRun,
                           L.tokensOut, L.gflops)
                if let sel {
                    let st = L.states?[sel] ?? .kept
                    let grp = st.group.map { "\($0)" } ?? "-"
                    t += " \(PatchMap.glyph(st))" + String(repeating: " ", count: max(0, 4 - grp.count)) + grp +
                        String(format: " %.1e", Double(L.liveScores[sel]))
                }
                fraction = (Double(L.tokensRun), Double(L.tokensIn))
            } else {
                t = String(format: "%3d", l + 1)
            }
            // The bar stays out of the selected row's reverse video, where it would vanish.
            if let fraction, barWidth >= 6, y < y0 + height {
                buf.put(bar(run: fraction.run, tokensIn: fraction.tokensIn, width: barWidth), x: x0 + header.count + 2, y: y, maxWidth: barWidth)
            }
            line(t, attrs: l == s.layer ? .reverse : [])
        }
    }

    /// The method and its settings, one or two lines.
    func settingsLines(_ s: ExplorerState, _ a: Analysis?) -> [String] {
        s.method.method.panelLines(knobs: s.knobs, config: config, settings: a?.settings ?? [])
    }

    func top(_ t: [(cls: Int, prob: Float)]) -> String {
        t.prefix(3).map { "\(name($0.cls)) \(Int(($0.prob * 100).rounded()))%" }.joined(separator: ", ")
    }

    /// Tokens a block runs against the tokens that enter it and all the model's tokens, `width`
    /// cells: `█` run, `░` entered but skipped the block (Prune and Merge's pruned and centerless
    /// patches), `·` already merged or dropped before it (ToMe, EViT). ASCII: `#`, `-`, `.`.
    func bar(run: Double, tokensIn: Double, width: Int) -> String {
        let all = Double(max(1, config.tokens))
        func cells(_ v: Double) -> Int { v.isFinite ? max(0, min(width, Int((v / all * Double(width)).rounded()))) : 0 }
        let r = cells(run), i = max(r, cells(tokensIn))
        let (full, skipped, gone): (String, String, String) = options.unicode ? ("█", "░", "·") : ("#", "-", ".")
        return String(repeating: full, count: r) + String(repeating: skipped, count: i - r) + String(repeating: gone, count: width - i)
    }
}

/// One entry of a map legend: a colour swatch (or a glyph, without colour) and what it means.
struct LegendItem {
    var swatch: RGB?
    var glyph: Character?
    var text: String
}

extension Renderer {
    /// What the colours (and glyphs, where drawn) of the current view mean, one line per entry group.
    func legend(_ s: ExplorerState) -> [[LegendItem]] {
        legend(s.view, methods: s.layout == .methods ? ExplorerState.Method.allCases : [s.method])
    }

    func legend(_ view: ExplorerState.View, methods: [ExplorerState.Method]) -> [[LegendItem]] {
        let grey = RGB(150, 150, 150)
        func shade(_ st: [PatchState]) -> RGB { PatchOverlay(states: st, grid: 1).shade(grey, patch: 0, u: 0, v: 0, side: 1) }
        let member = grey.mixed(with: PatchOverlay.hues[0], PatchOverlay.Strength.picture.member)
        let center = grey.mixed(with: PatchOverlay.hues[0], PatchOverlay.Strength.picture.center)
        switch view {
        case .scores:
            return [[LegendItem(swatch: Palette.heat(0), glyph: "0", text: "low"), LegendItem(swatch: Palette.heat(1), glyph: "9", text: "top tenth")],
                    [LegendItem(text: "score percentile in the layer")]]
        case .restoreError:
            return [[LegendItem(swatch: Palette.heat(0), glyph: "0", text: "same as dense"),
                     LegendItem(swatch: Palette.heat(1), glyph: "9", text: "restore error 0.9+")]]
        case .states, .groups:
            let own = LegendItem(swatch: nil, glyph: "#", text: options.color.drawsPicture ? "plain: own token" : "own token")
            let group = [LegendItem(swatch: member, glyph: "a", text: "merged group"), LegendItem(swatch: center, glyph: "A", text: "its center")]
            // Each entry where a method shown can give that state.
            let possible = methods.flatMap { $0.method.possibleStates }
            var second: [LegendItem] = []
            if possible.contains(.pruned) { second.append(LegendItem(swatch: shade([.pruned]), glyph: ".", text: "pruned (skips)")) }
            if possible.contains(.unassigned) { second.append(LegendItem(swatch: shade([.unassigned]), glyph: ":", text: "no center (skips)")) }
            if possible.contains(.dropped) { second.append(LegendItem(swatch: shade([.dropped]), glyph: "-", text: "dropped (fused)")) }
            if possible.contains(.discarded) { second.append(LegendItem(swatch: shade([.discarded]), glyph: "x", text: "discarded")) }
            let first = possible.contains { $0.group != nil } ? group + [own] : [own]
            return second.isEmpty ? [first] : [first, second]
        }
    }

    /// Draws the items on one line, wrapping to the next (up to `maxLines`) where one would be cut;
    /// returns the lines used.
    @discardableResult
    func drawLegend(_ buf: inout CellBuffer, _ items: [LegendItem], x: Int, y: Int, width: Int, maxLines: Int = 1) -> Int {
        var cx = x, y = y, lines = 1
        let limit = x + width
        for it in items {
            let w = (options.color.drawsPicture ? (it.swatch != nil ? 3 : 0) : (it.glyph != nil ? 2 : 0)) + it.text.count
            if cx > x && cx + w > limit && lines < maxLines { cx = x; y += 1; lines += 1 }
            if options.color.drawsPicture {
                if let c = it.swatch {
                    buf[cx, y] = Cell(" ", bg: options.color.color(c)); buf[cx + 1, y] = Cell(" ", bg: options.color.color(c))
                    cx += 3
                }
            } else if let g = it.glyph {
                buf[cx, y] = Cell(g, attrs: .bold)
                cx += 2
            }
            buf.put(it.text, x: cx, y: y, maxWidth: max(0, limit - cx))
            cx += it.text.count + 2
        }
        return lines
    }
}
