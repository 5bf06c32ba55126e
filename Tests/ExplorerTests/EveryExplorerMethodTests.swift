import Foundation
import XCTest
@testable import Explorer
@testable import Compression
import Engine

/// Every method the explorer shows through the same checks, knowing none of them: its analysis
/// has a state for every patch in every layer it compresses, its GFLOPs are the sum of its layers'
/// plus the patch embedding and head, its export names it, and the export's text, JSON and CSV
/// agree patch by patch.
final class EveryExplorerMethodTests: XCTestCase {
    let cfg = ViTConfig(imageSize: 16, patchSize: 2, channels: 1, dim: 16, depth: 4, heads: 2, numClasses: 3)

    func engine() throws -> (ExplorerEngine, ExplorerImage) {
        let m = try ViTModel(config: cfg)
        m.initializeForTraining(seed: 3)
        var rng = SplitMix64(seed: 7)
        let x = (0..<(16 * 16)).map { _ in rng.nextUniform() * 2 - 1 }
        let img = ExplorerImage(name: "r", label: nil, input: x, pixels: [UInt8](repeating: 128, count: 16 * 16 * 3), size: 16)
        return (ExplorerEngine(model: m, ranks: nil, images: [img], classNames: ["a", "b", "c"], workers: 1), img)
    }

    /// Text grid rows of one layer, joined: the state glyphs in raster order.
    func textGlyphs(_ text: String, layer: Int) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let h = lines.firstIndex(where: { $0.hasPrefix("## layer \(layer):") }) else { return "" }
        return lines[(h + 1)...].prefix { !$0.isEmpty }.compactMap { $0.split(separator: " ").first.map(String.init) }.joined()
    }

    func testTheExplorerShowsEveryRegisteredMethodWithAView() {
        let shown = ExplorerState.Method.allCases.map { $0.method.id }
        XCTAssertEqual(shown, MethodRegistry.all.filter { $0.shownInExplorer }.map { $0.id })
        XCTAssertGreaterThanOrEqual(shown.count, 3)
        var s = ExplorerState(depth: cfg.depth, imageCount: 1, hasCalibratedRanks: false)
        var seen: [String] = []
        for _ in shown { seen.append(s.method.method.id); _ = s.handle(.char("m")) }
        XCTAssertEqual(seen, shown, "m visits every method once, in the registry's order")
        XCTAssertEqual(s.method, .first, "and comes back")
    }

    func testEveryMethodsAnalysisCoversEveryPatchAndItsExportAgrees() throws {
        let (e, img) = try engine()
        let np = cfg.numPatches
        for method in ExplorerState.Method.allCases {
            var s = ExplorerState(depth: cfg.depth, grid: cfg.grid, imageCount: 1, hasCalibratedRanks: false, keep: 0.5)
            s.method = method
            let a = try e.analyse(s)
            let name = method.rawValue
            XCTAssertEqual(a.layers.count, cfg.depth, name)
            var compressedLayers = 0
            for (l, L) in a.layers.enumerated() {
                if let st = L.states { XCTAssertEqual(st.count, np, "\(name) layer \(l)"); compressedLayers += 1 }
                XCTAssertEqual(L.restoreError.count, np, "\(name) layer \(l)")
                XCTAssertTrue(L.tokensRun <= L.tokensIn && L.tokensOut <= L.tokensIn, "\(name) layer \(l)")
            }
            XCTAssertGreaterThan(compressedLayers, 0, "\(name) compresses some layer at keep 0.5")
            let total = a.layers.reduce(cfg.embedAndHeadFlops / 1e9) { $0 + $1.gflops }
            XCTAssertEqual(a.gflopsCompressed, total, accuracy: 1e-9, "\(name): GFLOPs are the layers' sum")
            XCTAssertLessThan(a.gflopsCompressed, a.gflopsDense, name)

            let map = PatchMap(version: "9.9", modelName: "toy", image: img, state: s, analysis: a, config: cfg)
            let text = TextMap.render(map)
            XCTAssertTrue(text.contains("# method: \(name)"), text)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(JSONMap.render(map).utf8)) as? [String: Any])
            let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
            let csv = CSVMap.render(map).split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            XCTAssertEqual(layers.count, cfg.depth, name)
            XCTAssertEqual(csv.count, cfg.depth * np, "\(name): a CSV row per layer and patch")
            for (l, L) in layers.enumerated() {
                let glyphs = textGlyphs(text, layer: l + 1)
                XCTAssertEqual(glyphs.count, np, "\(name) layer \(l + 1): every patch in the text grid")
                XCTAssertEqual(L["map"] as? String, glyphs, "\(name) layer \(l + 1): JSON map = text grid")
                let words = try XCTUnwrap(L["state"] as? [String])
                XCTAssertEqual(words, map.layers[l].states.map(\.word), "\(name) layer \(l + 1)")
                let csvWords = csv.filter { $0.first == "\(l + 1)" }.map { $0[4] }
                XCTAssertEqual(csvWords, words, "\(name) layer \(l + 1): CSV states = JSON states")
            }
        }
    }
}
