import Foundation
import XCTest
@testable import Explorer
@testable import Compression
import Engine

/// The export document and its formats on a hand-made plan: every patch's state, group, center and
/// weight; text, JSON and CSV agree with each other; the PNG figure has the documented layout.
final class PatchMapTests: XCTestCase {
    /// A 4x4 grid, two blocks: block 0 planned by hand (centers 1 and 9, patch 6 pruned), block 1 dense.
    func fixture() -> (PatchMap, ExplorerImage) {
        let cfg = ViTConfig(imageSize: 8, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, numClasses: 3)
        var score = [Float](repeating: 0.2, count: 16)
        score[1] = 0.9; score[9] = 0.7; score[0] = 0.45
        var mask = [Bool](repeating: true, count: 16); mask[6] = false
        let b = PMPlanner.makeBlock(block: 0, score: zip(score, mask).map { $1 ? $0 : 0 }, mask: mask, centers: [1, 9], grid: 4,
                                    prefix: 1, grouping: .grid)
        var err = [Float](repeating: 0.05, count: 16)
        err[6] = 0.31; err[3] = 2.5
        let layer0 = Analysis.Layer(tokensIn: 17, tokensRun: b.channels, tokensOut: 17, gflops: 0.001, states: b.layout?.states,
                                    restoreError: err, liveScores: score)
        let layer1 = Analysis.Layer(tokensIn: 17, tokensRun: 17, tokensOut: 17, gflops: 0.002, states: nil,
                                    restoreError: [Float](repeating: 0, count: 16), liveScores: score)
        let a = Analysis(key: .init(image: 0, keep: 0.7, prune: 0.1, source: .calibrated), layers: [layer0, layer1],
                         denseTop: [(1, 0.9)], compressedTop: [(1, 0.85)], gflopsDense: 0.01, gflopsCompressed: 0.007,
                         milliseconds: 3, planNote: "")
        let pixels = (0..<(8 * 8)).flatMap { i -> [UInt8] in let v = UInt8(100 + i); return [v, v, v] }
        let img = ExplorerImage(name: "toy.png", label: 1, input: [], pixels: pixels, size: 8)
        let s = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        return (PatchMap(version: "9.9", modelName: "toy", image: img, state: s, analysis: a, config: cfg), img)
    }

    func testDocumentHoldsStatesGroupsCentersAndWeights() {
        let (m, _) = fixture()
        XCTAssertEqual(m.layers.map(\.index), [1, 2])
        let L = m.layers[0]
        XCTAssertEqual(L.states[1], .center(group: 0))
        XCTAssertEqual(L.states[6], .pruned)
        XCTAssertEqual(L.states[4], .unassigned, "row 1 has no center in grid grouping")
        XCTAssertEqual(L.groups[0], 0); XCTAssertEqual(L.centers[0], 1, "patch 0 joins the center at patch 1")
        XCTAssertEqual(L.weights[1], 1)
        XCTAssertEqual(L.weights[0], 0.45 / 0.9, accuracy: 1e-6, "member weight = score / center score")
        XCTAssertEqual(L.centers[9], 9); XCTAssertEqual(L.groups[6], -1); XCTAssertEqual(L.centers[6], -1)
        XCTAssertEqual(L.groupCount, 2)
        XCTAssertTrue(m.layers[1].dense)
        XCTAssertTrue(m.layers[1].states.allSatisfy { $0 == .kept })
    }

    func testGlyphsRepeatPast26Groups() {
        XCTAssertEqual(PatchMap.glyph(.center(group: 0)), "A")
        XCTAssertEqual(PatchMap.glyph(.merged(group: 25, weight: 0.5)), "z")
        XCTAssertEqual(PatchMap.glyph(.center(group: 27)), "B")
        XCTAssertEqual(PatchMap.glyph(.merged(group: 52, weight: 1)), "a")
        XCTAssertEqual(Set([PatchState.kept, .pruned, .unassigned, .dropped].map(PatchMap.glyph)), ["#", ".", ":", "-"])
        XCTAssertEqual(PatchMap.errorDigit(0.31), "3"); XCTAssertEqual(PatchMap.errorDigit(7), "9"); XCTAssertEqual(PatchMap.errorDigit(.nan), "9")
    }

    func testFixedFormattingIsLocaleFree() {
        XCTAssertEqual(PatchMap.fixed(0.7, 2), "0.70"); XCTAssertEqual(PatchMap.fixed(0.005, 3), "0.005")
        XCTAssertEqual(PatchMap.fixed(12.3456, 3), "12.346"); XCTAssertEqual(PatchMap.fixed(-0.25, 2), "-0.25")
    }

    /// Text grid rows of one layer: (states, restore digits).
    func textGrid(_ text: String, layer: Int) -> [(String, String)] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let h = lines.firstIndex(where: { $0.hasPrefix("## layer \(layer):") }) else { return [] }
        return lines[(h + 1)...].prefix { !$0.isEmpty }.map { l in
            let parts = l.split(separator: " ", omittingEmptySubsequences: true)
            return (String(parts[0]), String(parts.count > 1 ? parts[1] : ""))
        }
    }

    func testTextJSONAndCSVAgree() throws {
        let (m, _) = fixture()
        let text = TextMap.render(m)
        XCTAssertEqual(text, TextMap.render(m), "stable")
        let g0 = textGrid(text, layer: 1)
        // Grid grouping: a row's only center takes the whole row; a row without a center passes through.
        XCTAssertEqual(g0.map(\.0), ["aAaa", "::.:", "bBbb", "::::"])
        XCTAssertEqual(g0.count, 4)
        XCTAssertEqual(g0[0].1, "0009", "restore digits: 0.05 -> 0, 2.5 -> 9")
        XCTAssertTrue(text.contains("## layer 1: tokens 17 -> 3 -> 17, 2 groups, 0.001 GFLOPs"), text)
        XCTAssertTrue(text.contains("## layer 2: tokens 17 -> 17 -> 17, dense, 0.002 GFLOPs"), text)
        XCTAssertEqual(textGrid(text, layer: 2).map(\.0), ["####", "####", "####", "####"])

        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(JSONMap.render(m).utf8)) as? [String: Any])
        XCTAssertEqual(json["model"] as? String, "toy")
        XCTAssertEqual((json["settings"] as? [String: Any])?["keep"] as? Double, 0.7)
        let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 2)
        for (i, L) in layers.enumerated() {
            let rows = textGrid(text, layer: i + 1).map(\.0).joined()
            XCTAssertEqual(L["map"] as? String, rows, "JSON map = text grid, layer \(i + 1)")
            XCTAssertEqual((L["state"] as? [String])?.count, 16)
            XCTAssertEqual(L["tokens_run"] as? Int, m.layers[i].tokensRun)
        }
        XCTAssertEqual((layers[0]["state"] as? [String])?[6], "pruned")
        XCTAssertEqual((layers[0]["center"] as? [Int])?[0], 1)

        let csv = CSVMap.render(m).split(separator: "\n")
        XCTAssertEqual(csv.first.map(String.init), CSVMap.columns)
        XCTAssertEqual(csv.count, 1 + 2 * 16, "one row per layer and patch")
        let row6 = csv[1 + 6].split(separator: ",").map(String.init)
        XCTAssertEqual(Array(row6.prefix(7)), ["1", "6", "1", "2", "pruned", "-1", "-1"])
    }

    func testFigureLayoutAndOverlay() {
        let (m, img) = fixture()
        let fig = FigureMap.render(m, image: img)
        // 8-pixel image scaled by 16 -> 128-pixel panels; image + 2 layers in one row.
        XCTAssertEqual(fig.width, 8 + 3 * (128 + 8))
        XCTAssertEqual(fig.height, 8 + 128 + 16 + 8)
        func px(_ x: Int, _ y: Int) -> Int { Int(fig.pixels[(y * fig.width + x) * 3]) }
        // Patch 6 (row 1, col 2) is pruned: darker in the layer-1 panel than in the image panel.
        let x = 8 + 2 * 32 + 16, y = 8 + 32 + 16
        XCTAssertLessThan(px(x + 136, y), px(x, y) - 40)
        // Layer 2 is dense: its panel equals the image panel away from group lines.
        XCTAssertEqual(px(x + 272, y), px(x, y))
    }
}
