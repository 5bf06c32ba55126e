import Compression

/// Where the overview layouts put their maps: one slot per map, its label on the slot's first row
/// and the map below it.
struct MapSlots {
    let geometry: MapGeometry
    /// Top-left of each slot (the label row), with the layer (strip) or method index (methods).
    let slots: [(index: Int, x: Int, y: Int)]
    /// The layers (strip) or methods shown, when not all fit.
    let page: ClosedRange<Int>?
    /// Methods only: lines of figures under each map.
    var detail = 0
}

/// The two overviews: every layer's map side by side (the strip), and every method side by side
/// at the same layer and keep ratio.
extension Renderer {
    static let stripLabelWidth = 11, slotGap = 2

    /// The strip's maps: the largest size at which every layer fits the body below its summary
    /// line (leaving a row for the legend); when even the smallest does not, pages of the smallest,
    /// the page holding the selected layer shown.
    func stripPlan(_ body: Rect, selected: Int) -> MapSlots {
        let area = Rect(x: body.x, y: body.y + 2, width: body.width, height: body.height - 3)
        let g = config.grid, depth = config.depth
        func capacity(_ m: MapGeometry) -> (perRow: Int, rows: Int, slotWidth: Int) {
            let w = max(m.columns, Self.stripLabelWidth)
            return ((area.width + Self.slotGap) / (w + Self.slotGap), (area.height + 1) / (m.rows + 2), w)
        }
        var chosen: MapGeometry?
        var p = max(2, (area.width / max(1, g)) & ~1)
        while p >= minMapPixels && chosen == nil {
            let m = MapGeometry(grid: g, pixels: p)
            let c = capacity(m)
            if m.rows + 1 <= area.height && c.perRow * c.rows >= depth { chosen = m }
            p = p == 2 ? 1 : p - 2
        }
        let m = chosen ?? MapGeometry(grid: g, pixels: minMapPixels)
        let c = capacity(m)
        let perPage = max(1, c.perRow * max(1, c.rows))
        let first = chosen == nil ? (min(max(0, selected), depth - 1) / perPage) * perPage : 0
        let last = min(depth, first + perPage) - 1
        let slots = (first...max(first, last)).map { l -> (Int, Int, Int) in
            let k = l - first
            return (l, area.x + (k % max(1, c.perRow)) * (c.slotWidth + Self.slotGap), area.y + (k / max(1, c.perRow)) * (m.rows + 2))
        }
        return MapSlots(geometry: m, slots: slots, page: chosen == nil ? first...last : nil)
    }

    func drawStrip(_ buf: inout CellBuffer, _ s: ExplorerState, _ a: Analysis?, _ img: ExplorerImage, area body: Rect) {
        let plan = stripPlan(body, selected: s.layer)
        var summary = methodSummary(s, a) + "   view: \(s.view.rawValue)"
        if let page = plan.page { summary = "layers \(page.lowerBound + 1)-\(page.upperBound + 1) of \(s.depth) (\(arrows.lr))  " + summary }
        buf.put(summary, x: body.x, y: body.y, attrs: .bold, maxWidth: body.width)
        let wide = plan.geometry.columns >= 20
        for slot in plan.slots {
            let l = slot.index
            let L = a.flatMap { $0.layers.indices.contains(l) ? $0.layers[l] : nil }
            let counts = L.map { wide ? "\($0.tokensRun) of \(config.tokens) run" : "\($0.tokensRun)/\(config.tokens)" } ?? "..."
            let label = (wide ? "layer \(l + 1): " : "L\(l + 1) ") + counts
            let selected = l == s.layer
            buf.put(label, x: slot.x, y: slot.y, attrs: selected ? [.reverse, .bold] : [],
                    maxWidth: max(plan.geometry.columns, Self.stripLabelWidth))
            painter(s, a, layer: l, image: img, geometry: plan.geometry).draw(into: &buf, x0: slot.x, y0: slot.y + 1)
        }
        if let item = legend(s).first { drawLegend(&buf, item + (legend(s).dropFirst().first ?? []), x: body.x, y: body.maxY - 1, width: body.width) }
    }

    /// One line naming the method and its settings, and the GFLOPs it gives.
    func methodSummary(_ s: ExplorerState, _ a: Analysis?) -> String {
        let name = s.method.method.summaryLine(knobs: s.knobs, config: config)
        return name + (a.map { String(format: "   GFLOPs %.3f -> %.3f", $0.gflopsDense, $0.gflopsCompressed) } ?? "")
    }

    // MARK: - Methods side by side

    /// The methods' maps in a grid: the largest maps at which every method fits, with four lines
    /// of figures under each, else two lines; when even the smallest maps do not fit them all, pages
    /// of the smallest, the page holding the current method shown (`m` moves through them).
    func methodsPlan(_ body: Rect, selected: Int) -> MapSlots {
        // Two rows at the bottom for the legend of all the methods.
        let area = Rect(x: body.x, y: body.y + 2, width: body.width, height: body.height - 4)
        let n = ExplorerState.Method.allCases.count, minSlot = 24
        let g = config.grid
        func fit(_ m: MapGeometry, detail: Int) -> (perRow: Int, rows: Int, slot: Int) {
            let slot = max(m.columns, minSlot)
            let perRow = max(1, (area.width + Self.slotGap) / (slot + Self.slotGap))
            return (perRow, max(0, (area.height + 1) / (m.rows + 1 + detail + 1)), slot)
        }
        var chosen: (MapGeometry, Int)?
        for detail in [4, 2] where chosen == nil {
            var p = max(2, (area.width / max(1, g)) & ~1)
            while p >= minMapPixels && chosen == nil {
                let m = MapGeometry(grid: g, pixels: p), f = fit(m, detail: detail)
                if f.rows >= 1 && f.perRow * f.rows >= n { chosen = (m, detail) }
                p = p == 2 ? 1 : p - 2
            }
        }
        let (m, detail) = chosen ?? (MapGeometry(grid: g, pixels: minMapPixels), 2)
        let f = fit(m, detail: detail)
        let perPage = max(1, f.perRow * max(1, f.rows))
        let first = chosen == nil ? (min(max(0, selected), n - 1) / perPage) * perPage : 0
        let last = min(n, first + perPage) - 1
        let slots = (first...max(first, last)).map { i -> (Int, Int, Int) in
            let k = i - first
            return (i, area.x + (k % f.perRow) * (f.slot + Self.slotGap), area.y + (k / f.perRow) * (m.rows + 1 + detail + 1))
        }
        return MapSlots(geometry: m, slots: slots, page: chosen == nil ? first...last : nil, detail: detail)
    }

    func drawMethods(_ buf: inout CellBuffer, _ s: ExplorerState, _ all: [ExplorerState.Method: Analysis], _ img: ExplorerImage,
                     area body: Rect) {
        let methods = ExplorerState.Method.allCases
        let plan = methodsPlan(body, selected: methods.firstIndex(of: s.method) ?? 0)
        var head = String(format: "layer %d/%d, keep %.2f: the same image under each method   view: ", s.layer + 1, s.depth, s.keep) + s.view.rawValue
        if let page = plan.page { head = "methods \(page.lowerBound + 1)-\(page.upperBound + 1) of \(methods.count) (m)  " + head }
        buf.put(head, x: body.x, y: body.y, attrs: .bold, maxWidth: body.width)
        let width = max(plan.geometry.columns, 24)
        for slot in plan.slots {
            let method = methods[slot.index]
            var t = s
            t.method = method
            let a = all[method]
            let current = method == s.method
            buf.put((current ? (options.unicode ? "▸ " : "> ") : "") + method.rawValue, x: slot.x, y: slot.y,
                    attrs: current ? [.bold, .reverse] : .bold, maxWidth: width)
            painter(t, a, layer: s.layer, image: img, geometry: plan.geometry).draw(into: &buf, x0: slot.x, y0: slot.y + 1)
            var y = slot.y + 1 + plan.geometry.rows
            func line(_ text: String) { buf.put(text, x: slot.x, y: y, maxWidth: width); y += 1 }
            guard let a, a.layers.indices.contains(s.layer) else { line("computing..."); continue }
            let L = a.layers[s.layer]
            if plan.detail >= 4 {
                line("\(L.tokensRun) of \(config.tokens) tokens run")
                line(bar(run: Double(L.tokensRun), tokensIn: Double(L.tokensIn), width: min(width, 24)))
                line(String(format: "GFLOPs %.3f of %.3f", a.gflopsCompressed, a.gflopsDense))
                line("top-1 " + top(Array(a.compressedTop.prefix(1))))
            } else {
                line("\(L.tokensRun)/\(config.tokens) run" + String(format: "  GFLOPs %.3f", a.gflopsCompressed))
                line("top-1 " + top(Array(a.compressedTop.prefix(1))))
            }
        }
        drawLegend(&buf, legend(s).flatMap { $0 }, x: body.x, y: body.maxY - 2, width: body.width, maxLines: 2)
    }
}
