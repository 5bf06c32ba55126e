import XCTest
@testable import Explorer
@testable import Compression
import Engine

/// The cell buffer the renderer produces: states of known patches for a hand-made plan, colour
/// modes degrading correctly, layout at 80x24 and 200x60, and the small-terminal message.
final class RendererTests: XCTestCase {
    /// A 4x4-grid model (16 patches, 2 blocks) and an analysis whose block 0 has a known layout.
    func fixture() -> (Renderer.Options) -> (Renderer, ExplorerImage, Analysis) {
        let cfg = ViTConfig(imageSize: 8, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, numClasses: 3)
        var score = [Float](repeating: 0.2, count: 16)
        score[1] = 0.9; score[9] = 0.7
        var mask = [Bool](repeating: true, count: 16); mask[6] = false
        let b = PMPlanner.makeBlock(block: 0, score: zip(score, mask).map { $1 ? $0 : 0 }, mask: mask, centers: [1, 9], grid: 4,
                                    prefix: 1, grouping: .grid)
        let layer0 = Analysis.Layer(tokensIn: 17, tokensRun: b.channels, tokensOut: 17, gflops: 0.001, states: b.layout?.states,
                                    restoreError: [Float](repeating: 0.1, count: 16), liveScores: score)
        let layer1 = Analysis.Layer(tokensIn: 17, tokensRun: 17, tokensOut: 17, gflops: 0.002, states: nil,
                                    restoreError: [Float](repeating: 0, count: 16), liveScores: score)
        let a = Analysis(key: .init(image: 0, keep: 0.7, prune: 0.1, source: .calibrated), layers: [layer0, layer1],
                         denseTop: [(1, 0.9), (0, 0.08)], compressedTop: [(1, 0.85), (2, 0.1)], gflopsDense: 0.01,
                         gflopsCompressed: 0.007, milliseconds: 3, planNote: "plan note")
        let pixels = (0..<(8 * 8)).flatMap { i -> [UInt8] in let v = UInt8(i * 4); return [v, v, v] }
        let img = ExplorerImage(name: "toy.png", label: 1, input: [], pixels: pixels, size: 8)
        return { opts in (Renderer(modelName: "toy", config: cfg, classNames: ["zero", "one", "two"], options: opts), img, a) }
    }

    func testStatesOfKnownPatchesAt80x24() {
        let (r, img, a) = fixture()(.init(color: .c256, unicode: true))
        var s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        s.glyphs = .on
        let buf = r.render(s, analysis: a, image: img, computing: false, width: 80, height: 24)
        // k = 4 at 80x24 for a 4x4 grid: patches are 8 cells wide and 4 tall, glyph in the top-left cell.
        func glyph(_ j: Int) -> Character { buf[1 + (j % 4) * 8, 2 + (j / 4) * 4].char }
        XCTAssertEqual(glyph(1), "A", "center of group 0")
        XCTAssertEqual(glyph(0), "a", "member of group 0")
        XCTAssertEqual(glyph(9), "B", "center of group 1")
        XCTAssertEqual(glyph(6), ".", "pruned")
        XCTAssertEqual(glyph(4), ":", "row without a center: passes through")
        XCTAssertEqual(buf[2, 2].char, "▀", "image cells are half blocks")
        XCTAssertTrue(buf.line(0).contains("toy.png"))
        XCTAssertTrue(buf.text.contains("layer 1/2"))
        XCTAssertTrue(buf.text.contains("  17 >    3 >   17"), buf.text)
        XCTAssertTrue(buf.line(23).contains("q quit"))
        XCTAssertTrue(buf.text.contains("dense: one 90%"))
        // Colours stay out of 0-15.
        XCTAssertTrue(buf.cells.allSatisfy { $0.bg == .terminalDefault || ($0.bg.paletteIndex ?? 0) >= 16 })
    }

    /// The score view: each patch's digit is its percentile in the layer (patch 1 scores highest, the
    /// fourteen tied patches lowest), with a legend saying so.
    func testScoreViewShowsPercentiles() {
        let (r, img, a) = fixture()(.init(color: .c256, unicode: true))
        var s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        s.view = .scores
        let buf = r.render(s, analysis: a, image: img, computing: false, width: 80, height: 24)
        func glyph(_ j: Int) -> Character { buf[1 + (j % 4) * 8, 2 + (j / 4) * 4].char }
        XCTAssertEqual(glyph(1), "9", "top score")
        XCTAssertEqual(glyph(9), "9", "second of 16: percentile 14/15")
        XCTAssertEqual(glyph(0), "0", "tied lowest")
        XCTAssertTrue(buf.text.contains("score percentile"), buf.text)
    }

    /// A status longer than the line keeps its start and its end (the file name) around an ellipsis.
    func testLongStatusKeepsItsEnd() {
        for unicode in [true, false] {
            let (r, img, a) = fixture()(.init(color: .c256, unicode: unicode))
            var s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
            s.status = "export written to /" + String(repeating: "deep/", count: 30) + "toy-patchmap.txt"
            let buf = r.render(s, analysis: a, image: img, computing: false, width: 80, height: 24)
            let line = buf.line(22)
            XCTAssertTrue(line.hasPrefix(" export written to /deep/"), line)
            XCTAssertTrue(line.trimmingCharacters(in: .whitespaces).hasSuffix("deep/toy-patchmap.txt"), line)
            XCTAssertTrue(line.contains(unicode ? "…" : "..."), line)
            XCTAssertLessThanOrEqual(line.count, 80)
        }
    }

    /// Every caption the demo can show is read whole on an 80x24 screen (deep models and every
    /// optional step included).
    func testDemoCaptionsFitAt80x24() {
        let (r, img, a) = fixture()(.init(color: .c256, unicode: true))
        let s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        let script = DemoScript(depth: 24, imageCount: 3, sources: 3, methods: 3, startsOnFilePlan: true)
        for step in script.steps {
            let buf = r.render(s, analysis: a, image: img, computing: false, width: 80, height: 24, caption: step.caption)
            XCTAssertTrue(buf.line(22).contains(step.caption), "cut at 80 columns: \(step.caption)")
        }
    }

    func testColourModesDegrade() {
        let s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        let (r8, img, a) = fixture()(.init(color: .eight, unicode: true))
        let b8 = r8.render(s, analysis: a, image: img, computing: false, width: 80, height: 24)
        XCTAssertTrue(b8.cells.allSatisfy { ($0.fg == .terminalDefault || ($0.fg.paletteIndex ?? 99) <= 7) && $0.bg == .terminalDefault },
                      "8 colours: basic foregrounds only")
        XCTAssertEqual(b8[1 + 8, 2].char, "A")
        let (rn, _, _) = fixture()(.init(color: .none, unicode: false))
        let bn = rn.render(s, analysis: a, image: img, computing: false, width: 80, height: 24)
        XCTAssertTrue(bn.cells.allSatisfy { $0.fg == .terminalDefault && $0.bg == .terminalDefault }, "no colour at all")
        XCTAssertTrue(bn.cells.allSatisfy { $0.char.isASCII }, "ASCII only without UTF-8")
        XCTAssertEqual(bn[1 + 8, 2].char, "A")
        // Image texture never uses a state glyph's character: only the patch's first cell carries one.
        for y in 2..<(2 + 16) {
            for x in 1..<(1 + 32) where !((x - 1) % 8 == 0 && (y - 2) % 4 == 0) {
                XCTAssertTrue(Palette.ramp.contains(bn[x, y].char), "cell (\(x), \(y)) is \(bn[x, y].char)")
            }
        }
        XCTAssertEqual(bn[1 + 8, 2].attrs, [.bold, .reverse], "centers stand out without colour")
        XCTAssertEqual(bn[1 + 2 * 8, 2 + 4].char, ".")
    }

    func testLargeTerminalAndHelpAndTooSmall() {
        let (r, img, a) = fixture()(.init(color: .c256, unicode: true))
        var s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        let big = r.render(s, analysis: a, image: img, computing: false, width: 200, height: 60)
        XCTAssertEqual(big.width, 200)
        XCTAssertTrue(big.line(59).contains("q quit"))
        _ = s.handle(.char("?"))
        let help = r.render(s, analysis: a, image: img, computing: true, width: 80, height: 24)
        XCTAssertTrue(help.text.contains("HELP"))
        XCTAssertTrue(help.text.contains("┌"))
        XCTAssertTrue(help.text.contains("computing..."))
        for row in ExplorerState.keyHelp { XCTAssertTrue(help.text.contains(row.what), "help line cut at 80x24: \(row.what)") }
        let small = r.render(s, analysis: a, image: img, computing: false, width: 60, height: 20)
        XCTAssertTrue(small.text.contains("terminal too small: 60x20, need 80x24"))
    }

    func testGlyphAlphabet() {
        XCTAssertEqual(Renderer.glyph(.center(group: 27)), "B", "letters repeat past 26 groups")
        XCTAssertEqual(Renderer.glyph(.merged(group: 2, weight: 0.5)), "c")
    }
}

/// Mouse selection: which patch a click hits, and what the panel shows for it.
extension RendererTests {
    func testClickMapsToPatchAndPanelShowsItPerLayer() {
        let (r, img, a) = fixture()(.init(color: .c256, unicode: true))
        // 80x24 and a 4x4 grid: k = 4, patches are 8 cells wide and 4 tall from (1, 2).
        XCTAssertEqual(r.patch(atX: 1, y: 2, width: 80, height: 24), 0)
        XCTAssertEqual(r.patch(atX: 1 + 8 + 7, y: 2 + 3, width: 80, height: 24), 1)
        XCTAssertEqual(r.patch(atX: 1 + 3 * 8, y: 2 + 2 * 4, width: 80, height: 24), 11)
        XCTAssertNil(r.patch(atX: 0, y: 2, width: 80, height: 24), "left of the grid")
        XCTAssertNil(r.patch(atX: 1 + 4 * 8, y: 2, width: 80, height: 24), "the panel")
        XCTAssertNil(r.patch(atX: 1, y: 2, width: 60, height: 20), "too small to draw")
        var s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        _ = s.handle(.select(patch: 9))
        XCTAssertEqual(s.selectedPatch, 9)
        let buf = r.render(s, analysis: a, image: img, computing: false, width: 80, height: 24)
        XCTAssertTrue(buf.text.contains("patch 9 (row 2, col 1)"), buf.text)
        // Block 1: patch 9 is the center of group 1; block 2 is dense (own token).
        XCTAssertTrue(buf.text.contains("0.001 B   1 7.0e-01"), buf.text)
        XCTAssertTrue(buf.text.contains("0.002 #   - 7.0e-01"), buf.text)
        XCTAssertTrue(buf[1 + 8, 2 + 8].attrs.contains(.reverse), "the selected patch's glyph is highlighted")
        _ = s.handle(.escape)
        XCTAssertNil(s.selectedPatch)
    }
}
