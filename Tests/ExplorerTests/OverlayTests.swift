import XCTest
@testable import Explorer
@testable import Compression
import Engine

/// What the states view draws, checked cell by cell on a 14x14 grid (the paper's grid): patches
/// that run alone are the plain picture, groups never share a hue with a neighbour, skipped
/// patches are darker than the picture.
struct OverlayFixture {
    /// A DeiT-shaped grid (14x14 patches) on a small model, and a 224x224 picture with structure.
    let cfg = ViTConfig(imageSize: 224, patchSize: 16, channels: 3, dim: 8, depth: 12, heads: 2, numClasses: 3)

    func picture() -> ExplorerImage {
        var px = [UInt8](repeating: 0, count: 224 * 224 * 3)
        var rng = SplitMix64(seed: 9)
        for y in 0..<224 { for x in 0..<224 {
            let i = (y * 224 + x) * 3
            // Stripes, a disc and a square, plus noise: every area average differs.
            let stripe = (x / 7) % 2 == 0
            let disc = (x - 80) * (x - 80) + (y - 90) * (y - 90) < 40 * 40
            let square = x > 140 && x < 200 && y > 120 && y < 180
            px[i] = UInt8(disc ? 220 : (square ? 30 : (stripe ? 180 : 90))) &+ UInt8(rng.nextUniform() * 20)
            px[i + 1] = UInt8(square ? 200 : (disc ? 40 : (stripe ? 170 : 60))) &+ UInt8(rng.nextUniform() * 20)
            px[i + 2] = UInt8(stripe ? 140 : 70) &+ UInt8(rng.nextUniform() * 20)
        } }
        return ExplorerImage(name: "shapes.png", label: nil, input: [], pixels: px, size: 224)
    }

    /// A real Prune and Merge plan for one block (random scores), in the given grouping.
    func planStates(seed: UInt64, grouping: PMPlanner.Grouping = .grid) -> [PatchState] {
        var rng = SplitMix64(seed: seed)
        let score = (0..<196).map { _ in rng.nextUniform() }
        let order = score.indices.sorted { score[$0] > score[$1] }
        var mask = [Bool](repeating: true, count: 196)
        for j in order.suffix(20) { mask[j] = false }
        let centers = Array(order.prefix(120)).sorted()
        let b = PMPlanner.makeBlock(block: 0, score: zip(score, mask).map { $1 ? $0 : 0 }, mask: mask, centers: centers, grid: 14,
                                    prefix: 1, grouping: grouping)
        return b.layout?.states ?? []
    }

    func analysis(_ states: [[PatchState]?]) -> Analysis {
        let layers = states.map { st in
            Analysis.Layer(tokensIn: 197, tokensRun: 197 - (st?.filter { $0 != .kept && $0.group == nil }.count ?? 0), tokensOut: 197,
                           gflops: 0.1, states: st, restoreError: [Float](repeating: 0, count: 196), liveScores: [Float](repeating: 1, count: 196))
        }
        return Analysis(key: .init(image: 0, keep: 0.7, prune: 0.1, source: .calibrated), layers: layers, denseTop: [(0, 1)],
                        compressedTop: [(0, 1)], gflopsDense: 1.2, gflopsCompressed: 1, milliseconds: 1, planNote: "")
    }

    func renderer(_ color: ColorMode = .truecolor) -> Renderer {
        Renderer(modelName: "toy", config: cfg, classNames: ["a", "b", "c"], options: .init(color: color, unicode: true))
    }

    /// Screen cells of patch j in the one-layer map at 100x32: 14 patches of 4 pixels, so each patch
    /// is 4 columns x 2 rows from (1, 2).
    func cells(_ buf: CellBuffer, _ j: Int) -> [Cell] {
        let r = j / 14, c = j % 14
        return (0..<2).flatMap { dy in (0..<4).map { dx in buf[1 + c * 4 + dx, 2 + r * 2 + dy] } }
    }
}

final class OverlayTests: XCTestCase {
    let t = OverlayFixture()
    var cfg: ViTConfig { t.cfg }
    func picture() -> ExplorerImage { t.picture() }
    func planStates(seed: UInt64, grouping: PMPlanner.Grouping = .grid) -> [PatchState] { t.planStates(seed: seed, grouping: grouping) }
    func analysis(_ states: [[PatchState]?]) -> Analysis { t.analysis(states) }
    func renderer(_ color: ColorMode = .truecolor) -> Renderer { t.renderer(color) }
    func cells(_ buf: CellBuffer, _ j: Int) -> [Cell] { t.cells(buf, j) }

    func testPlainPatchesAreExactlyThePicture() {
        let st = planStates(seed: 1)
        var s = ExplorerState(depth: 12, grid: 14, imageCount: 1, hasCalibratedRanks: true)
        s.glyphs = .off
        let img = picture()
        let r = renderer()
        let planned = r.render(s, analysis: analysis([st] + Array(repeating: nil, count: 11)), image: img, computing: false, width: 100, height: 32)
        s.layer = 1  // dense block: the plain picture everywhere
        let plain = r.render(s, analysis: analysis([st] + Array(repeating: nil, count: 11)), image: img, computing: false, width: 100, height: 32)
        let overlay = PatchOverlay(states: st, grid: 14)
        var alone = 0
        for j in 0..<196 where overlay.isPlain(j) {
            alone += 1
            XCTAssertEqual(cells(planned, j), cells(plain, j), "patch \(j) (\(st[j])) runs alone: the picture only")
        }
        XCTAssertGreaterThan(alone, 60, "the plan has groups of one and kept patches")
        // A group of one patch is drawn plain too.
        var size: [Int: Int] = [:]
        for x in st { if let g = x.group { size[g, default: 0] += 1 } }
        XCTAssertTrue(st.indices.contains { if case .center(let g) = st[$0] { return size[g] == 1 && overlay.isPlain($0) }; return false })

        // The plain picture is the area average in linear light: patch 0's top-left half block is
        // source rows 0-3 (top pixel) and 4-7 (bottom), columns 0-3 (224 / 56 = 4 source pixels a side).
        func expected(_ x0: Int, _ y0: Int) -> RGB8 {
            func lin(_ v: UInt8) -> Double { let c = Double(v) / 255; return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
            func enc(_ v: Double) -> UInt8 { UInt8(((v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055) * 255).rounded()) }
            var sum = [0.0, 0.0, 0.0]
            for y in y0..<(y0 + 4) { for x in x0..<(x0 + 4) { for ch in 0..<3 { sum[ch] += lin(img.pixels[(y * 224 + x) * 3 + ch]) } } }
            return RGB8(enc(sum[0] / 16), enc(sum[1] / 16), enc(sum[2] / 16))
        }
        for (cx, cy) in [(0, 0), (5, 3), (30, 17), (55, 27)] {
            let cell = plain[1 + cx, 2 + cy]
            XCTAssertEqual(cell.char, "▀")
            XCTAssertEqual(cell.fg, .rgb(expected(cx * 4, cy * 8)), "top pixel of cell (\(cx), \(cy))")
            XCTAssertEqual(cell.bg, .rgb(expected(cx * 4, cy * 8 + 4)), "bottom pixel of cell (\(cx), \(cy))")
        }
    }

    /// Every pair of touching patches (8-neighbourhood) in two different groups of two or more gets
    /// two different hues, on plans in both groupings, and on screen two different colours.
    func testNeighbouringGroupsNeverShareAColour() {
        let grey = ExplorerImage(name: "grey", label: nil, input: [], pixels: [UInt8](repeating: 128, count: 224 * 224 * 3), size: 224)
        var checked = 0
        for seed in UInt64(1)...6 {
            for grouping in PMPlanner.Grouping.allCases {
                let st = planStates(seed: seed, grouping: grouping)
                let o = PatchOverlay(states: st, grid: 14)
                var s = ExplorerState(depth: 12, grid: 14, imageCount: 1, hasCalibratedRanks: true)
                s.glyphs = .off
                let buf = renderer().render(s, analysis: analysis([st] + Array(repeating: nil, count: 11)), image: grey, computing: false,
                                            width: 100, height: 32)
                for j in 0..<196 {
                    guard let gj = st[j].group, let hj = o.roles[j].hue else { continue }
                    for (dr, dc) in [(0, 1), (1, -1), (1, 0), (1, 1)] {
                        let r = j / 14 + dr, c = j % 14 + dc
                        guard r < 14, c >= 0, c < 14 else { continue }
                        let k = r * 14 + c
                        guard let gk = st[k].group, gk != gj, let hk = o.roles[k].hue else { continue }
                        XCTAssertNotEqual(hj, hk, "seed \(seed) \(grouping): groups \(gj) and \(gk) touch at patches \(j), \(k)")
                        // On a uniform picture, members of differently coloured groups differ on screen.
                        if case .member = o.roles[j], case .member = o.roles[k] {
                            XCTAssertNotEqual(cells(buf, j)[0].fg, cells(buf, k)[0].fg)
                        }
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 100, "the plans have touching groups")
    }

    func testSkippedPatchesAreDarkerAndDroppedDarkerStill() {
        let img = picture()
        var st = [PatchState](repeating: .kept, count: 196)
        st[20] = .pruned; st[21] = .unassigned; st[22] = .dropped
        var s = ExplorerState(depth: 12, grid: 14, imageCount: 1, hasCalibratedRanks: true)
        s.glyphs = .off
        let r = renderer()
        let a = analysis([st] + Array(repeating: nil, count: 11))
        let buf = r.render(s, analysis: a, image: img, computing: false, width: 100, height: 32)
        s.layer = 1
        let plain = r.render(s, analysis: a, image: img, computing: false, width: 100, height: 32)
        func luma(_ c: CellColor) -> Double {
            guard case .rgb(let v) = c else { XCTFail("truecolor cells"); return 0 }
            return 0.299 * Double(v.r) + 0.587 * Double(v.g) + 0.114 * Double(v.b)
        }
        func meanLuma(_ b: CellBuffer, _ j: Int) -> Double { cells(b, j).reduce(0) { $0 + luma($1.fg) + luma($1.bg) } / 16 }
        func saturation(_ b: CellBuffer, _ j: Int) -> Double {
            cells(b, j).reduce(0) { acc, c in
                guard case .rgb(let v) = c.fg else { return acc }
                return acc + Double(max(v.r, v.g, v.b) - min(v.r, v.g, v.b))
            }
        }
        for j in 20...22 {
            XCTAssertLessThan(meanLuma(buf, j), 0.6 * meanLuma(plain, j), "patch \(j) darkened")
            XCTAssertLessThan(saturation(buf, j), 0.5 * saturation(plain, j) + 1, "patch \(j) desaturated")
        }
        // Compare against the same picture patch: dropped (EViT) darker than pruned.
        XCTAssertLessThan(PatchOverlay(states: [.dropped], grid: 1).shade(RGB(200, 120, 60), patch: 0, u: 0, v: 0, side: 1).luma,
                          PatchOverlay(states: [.pruned], grid: 1).shade(RGB(200, 120, 60), patch: 0, u: 0, v: 0, side: 1).luma)
    }

    /// 256 colours: the nearest stable entry in OKLab, by brute force over all 240 (the lookup table
    /// searches only near candidates and bins the colour), never 0-15.
    func testNearest256MatchesBruteForceInOKLab() {
        var rng = SplitMix64(seed: 4)
        var worse = 0
        for _ in 0..<400 {
            // Colours on the table's bins, where the table is exact.
            let c = RGB(Double(Int(rng.nextUniform() * 32) * 255) / 31, Double(Int(rng.nextUniform() * 32) * 255) / 31,
                        Double(Int(rng.nextUniform() * 32) * 255) / 31)
            let lab = OKLab(c)
            let best = (0..<240).min { lab.distance2(Palette.stableLab[$0]) < lab.distance2(Palette.stableLab[$1]) } ?? 0
            let got = Palette.index256(c) - 16
            XCTAssertGreaterThanOrEqual(got, 0)
            if lab.distance2(Palette.stableLab[got]) > lab.distance2(Palette.stableLab[best]) + 1e-12 { worse += 1 }
        }
        XCTAssertEqual(worse, 0, "the table's nearest is the true nearest")
        XCTAssertEqual(Palette.index256(RGB(0, 0, 95)), 16 + 1, "a dark blue stays blue")
        XCTAssertEqual(Palette.index256(RGB(0, 0, 0)), 16, "black: the cube's, not palette 0")
        let bin8 = 8 * 255 / 31.0  // 65.8
        XCTAssertEqual(Palette.index256(RGB(bin8, bin8, bin8)), 232 + 6, "a dark grey: ramp entry 8 + 10 x 6 = 68, not the cube's 95")
    }

    /// The snapshot draws what the cells say: a half block is two pixels of colour, reverse swaps.
    func testSnapshotDrawsCells() {
        var buf = CellBuffer(width: 2, height: 1)
        buf[0, 0] = Cell("▀", fg: .rgb(RGB8(250, 0, 0)), bg: .rgb(RGB8(0, 0, 250)))
        buf[1, 0] = Cell(" ", bg: .palette(21), attrs: .reverse)
        let img = ScreenSnapshot.render(buf)
        XCTAssertEqual(img.width, 2 * BitmapFont.cellWidth)
        XCTAssertEqual(img.height, BitmapFont.cellHeight)
        func px(_ x: Int, _ y: Int) -> [UInt8] { Array(img.pixels[((y * img.width + x) * 3)..<((y * img.width + x) * 3 + 3)]) }
        XCTAssertEqual(px(4, 2), [250, 0, 0], "top half: foreground")
        XCTAssertEqual(px(4, 15), [0, 0, 250], "bottom half: background")
        let fg = ScreenSnapshot.foreground
        XCTAssertEqual(px(13, 9), [fg.r, fg.g, fg.b], "reverse: a space shows the foreground")
    }
}

/// The overview layouts: every layer side by side, and the three methods side by side.
final class OverviewLayoutTests: XCTestCase {
    let t = OverlayFixture()

    func testStripShowsEveryLayerAt200x60AndPagesAt80x24() {
        let st = t.planStates(seed: 2)
        let a = t.analysis(Array(repeating: st, count: 12))
        var s = ExplorerState(depth: 12, grid: 14, imageCount: 1, hasCalibratedRanks: true)
        _ = s.handle(.char("2"))
        XCTAssertEqual(s.layout, .strip)
        s.layer = 4
        let run = a.layers[0].tokensRun
        let big = t.renderer().render(s, analysis: a, image: t.picture(), computing: false, width: 200, height: 60)
        for l in 1...12 { XCTAssertTrue(big.text.contains("layer \(l): \(run) of 197 run"), "layer \(l) at 200x60:\n\(big.text)") }
        XCTAssertFalse(big.text.contains("of 12 ("), "no pages at 200x60")
        // The selected layer's label is marked.
        func labelCell(_ label: String) -> Cell {
            let row = (0..<60).first { big.line($0).contains(label) } ?? 0
            let line = big.line(row)
            let col = line.range(of: label).map { line.distance(from: line.startIndex, to: $0.lowerBound) } ?? 0
            return big[col, row]
        }
        XCTAssertTrue(labelCell("layer 5: ").attrs.contains(Cell.Attrs.reverse))
        XCTAssertFalse(labelCell("layer 1: ").attrs.contains(Cell.Attrs.reverse))

        let small = t.renderer().render(s, analysis: a, image: t.picture(), computing: false, width: 80, height: 24)
        XCTAssertTrue(small.text.contains("layers 1-10 of 12"), small.text)
        XCTAssertTrue(small.text.contains("L5 \(run)/197"))
        s.layer = 11
        let last = t.renderer().render(s, analysis: a, image: t.picture(), computing: false, width: 80, height: 24)
        XCTAssertTrue(last.text.contains("layers 11-12 of 12"), last.text)
        XCTAssertTrue(last.text.contains("L12 \(run)/197"))
        XCTAssertFalse(last.text.contains("L1 "))
        // Without colour the maps need a cell per patch: still every label of a page, glyphs only.
        let mono = Renderer(modelName: "toy", config: t.cfg, classNames: [], options: .init(color: .none, unicode: false))
            .render(s, analysis: a, image: t.picture(), computing: false, width: 200, height: 60)
        XCTAssertTrue(mono.text.contains("layer 12: "), mono.text)
        XCTAssertTrue(mono.cells.allSatisfy { $0.char.isASCII })
    }

    func testMethodsViewShowsEveryMethodWithItsCounts() {
        var s = ExplorerState(depth: 12, grid: 14, imageCount: 1, hasCalibratedRanks: true)
        XCTAssertEqual(s.handle(.char("3")), [.recompute], "the other methods must be computed")
        let methods = ExplorerState.Method.allCases
        XCTAssertEqual(AnalysisStore.needed(for: s).map(\.method), methods)
        var all: [ExplorerState.Method: Analysis] = [:]
        for (i, m) in methods.enumerated() {
            var a = t.analysis(Array(repeating: t.planStates(seed: 3), count: 12))
            a.layers[0].tokensRun = 150 - 10 * i
            a.gflopsCompressed = 0.9 - 0.1 * Double(i)
            all[m] = a
        }
        func shown(_ text: String, _ i: Int) -> Bool {
            text.contains("\(150 - 10 * i) of 197 tokens run") || text.contains("\(150 - 10 * i)/197 run")
        }
        // Wide enough: every method at once, with all four lines of figures.
        let wide = t.renderer().render(s, analysis: all[.pruneMerge], methods: all, image: t.picture(), computing: false, width: 200, height: 60)
        for (i, m) in methods.enumerated() {
            XCTAssertTrue(wide.text.contains(m.rawValue), wide.text)
            XCTAssertTrue(wide.text.contains("\(150 - 10 * i) of 197 tokens run"), wide.text)
            XCTAssertTrue(wide.text.contains(String(format: "GFLOPs %.3f", 0.9 - 0.1 * Double(i))), wide.text)
        }
        // Smaller: the current method always shows, and m pages through all of them.
        for (w, h) in [(100, 32), (80, 24)] {
            var seen = Set<Int>()
            for (i, m) in methods.enumerated() {
                var u = s
                u.method = m
                let buf = t.renderer().render(u, analysis: all[m], methods: all, image: t.picture(), computing: false, width: w, height: h)
                XCTAssertTrue(shown(buf.text, i), "\(w)x\(h): \(m.rawValue) is current\n\(buf.text)")
                for j in methods.indices where shown(buf.text, j) { seen.insert(j) }
                // A click on each map drawn picks a patch there.
                let plan = t.renderer().methodsPlan(ScreenAreas(width: w, height: h).body, selected: i)
                for slot in plan.slots {
                    XCTAssertNotNil(t.renderer().patch(atX: slot.x + 1, y: slot.y + 1, width: w, height: h, layout: .methods, method: m), "\(w)x\(h)")
                }
                XCTAssertTrue(plan.slots.contains { $0.index == i })
            }
            XCTAssertEqual(seen, Set(methods.indices), "\(w)x\(h)")
        }
    }

    func testGlyphsGoOnAKeyOverColourAndStayWithoutColour() {
        let st = t.planStates(seed: 2)
        let a = t.analysis([st] + Array(repeating: nil, count: 11))
        var s = ExplorerState(depth: 12, grid: 14, imageCount: 1, hasCalibratedRanks: true)
        // 100x32: 4x2 cells a patch, too few for glyphs by default.
        let auto = t.renderer().render(s, analysis: a, image: t.picture(), computing: false, width: 100, height: 32)
        XCTAssertTrue((0..<196).allSatisfy { t.cells(auto, $0)[0].char == "▀" }, "auto: no glyph buries a small patch")
        XCTAssertEqual(s.handle(.char("t")), [.redraw])
        XCTAssertEqual(s.glyphs, .on)
        let on = t.renderer().render(s, analysis: a, image: t.picture(), computing: false, width: 100, height: 32)
        // The text map's letters, except that a group of one patch runs as its own token: `#`.
        var size: [Int: Int] = [:]
        for x in st { if let g = x.group { size[g, default: 0] += 1 } }
        let want: [Character] = st.map { x in x.group.map { size[$0] == 1 } == true ? "#" : PatchMap.glyph(x) }
        XCTAssertTrue(want.contains("#") && want.contains { $0.isUppercase }, "the plan has both")
        XCTAssertEqual((0..<196).map { t.cells(on, $0)[0].char }, want)
        _ = s.handle(.char("t"))
        XCTAssertEqual(s.glyphs, .off)
        _ = s.handle(.char("t"))
        XCTAssertEqual(s.glyphs, .auto)
        // Large patches (200x60: 8 pixels, 8x4 cells): auto marks the group centers with their letter.
        let big = t.renderer().render(s, analysis: a, image: t.picture(), computing: false, width: 200, height: 60)
        let roles = PatchOverlay(states: st, grid: 14).roles
        for j in 0..<196 {
            let c: Character = big[1 + (j % 14) * 8, 2 + (j / 14) * 4].char
            var isCenter = false
            if case .center = roles[j] { isCenter = true }
            let want: Character = isCenter ? PatchMap.glyph(st[j]) : "▀"
            XCTAssertEqual(c, want, "patch \(j)")
        }
        // Without colour, glyphs whatever the key says.
        s.glyphs = .off
        let mono = Renderer(modelName: "toy", config: t.cfg, classNames: [], options: .init(color: .none, unicode: true))
            .render(s, analysis: a, image: t.picture(), computing: false, width: 100, height: 32)
        XCTAssertEqual((0..<196).map { t.cells(mono, $0)[0].char }, want)
    }
}
