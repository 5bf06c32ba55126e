import XCTest
@testable import Explorer
@testable import Compression
import Engine

/// The explorer's analysis on a small random model, for every method: token counts, per-patch
/// states and restore errors agree with what each method does.
final class AnalysisTests: XCTestCase {
    let cfg = ViTConfig(imageSize: 16, patchSize: 2, channels: 1, dim: 16, depth: 4, heads: 2, numClasses: 3)

    func engine() throws -> ExplorerEngine {
        let m = try ViTModel(config: cfg)
        m.initializeForTraining(seed: 3)
        var rng = SplitMix64(seed: 5)
        let x = (0..<(16 * 16)).map { _ in rng.nextUniform() * 2 - 1 }
        let img = ExplorerImage(name: "r", label: nil, input: x, pixels: [UInt8](repeating: 128, count: 16 * 16 * 3), size: 16)
        return ExplorerEngine(model: m, ranks: nil, images: [img], classNames: ["a", "b", "c"], workers: 1)
    }

    func testToMeLayersMergeRTokensPerBlock() throws {
        let e = try engine()
        var s = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: false)
        s.method = .tome; s.methodArguments.r = [6]
        let a = try e.analyse(s)
        XCTAssertEqual(a.layers.map(\.tokensIn), [65, 59, 53, 47])
        XCTAssertEqual(a.layers.map(\.tokensOut), [59, 53, 47, 41])
        for L in a.layers {
            let st = try XCTUnwrap(L.states)
            // Every patch is in exactly one output token: groups plus singletons = patch tokens left.
            let groups = Set(st.compactMap(\.group)).count
            let singles = st.filter { $0 == .kept }.count
            XCTAssertEqual(groups + singles, L.tokensOut - 1)
            XCTAssertEqual(st.filter { if case .center = $0 { return true }; return false }.count, groups, "one center per group")
            XCTAssertFalse(st.contains(.pruned) || st.contains(.dropped))
        }
        XCTAssertEqual(a.settings.first?.value, "6")
        XCTAssertEqual(a.layers.reduce(cfg.embedAndHeadFlops / 1e9) { $0 + $1.gflops }, a.gflopsCompressed, accuracy: 1e-9,
                       "the layers add up to the model's total")
        // r = 0 is the dense model: same predictions, no restore error.
        s.methodArguments.r = [0]
        let z = try e.analyse(s)
        XCTAssertEqual(z.compressedTop.map(\.cls), z.denseTop.map(\.cls))
        XCTAssertEqual(z.compressedTop[0].prob, z.denseTop[0].prob, accuracy: 1e-5)
        XCTAssertLessThan(z.layers.flatMap(\.restoreError).max() ?? 1, 1e-5)
    }

    func testEViTDropsPatchesForGoodFromItsFirstBlock() throws {
        let e = try engine()
        var s = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: false)
        s.method = .evit; s.keep = 0.5; s.methodArguments.blocks = [1, 3]
        let a = try e.analyse(s)
        XCTAssertNil(a.layers[0].states, "block 0 does not reduce")
        // Block 1 keeps ceil(0.5 * 64) = 32 patches and fuses 32 into one token.
        XCTAssertEqual(a.layers[1].tokensOut, 1 + 32 + 1)
        XCTAssertEqual(a.layers[1].states?.filter { $0 == .dropped }.count, 32)
        // Once dropped, always dropped.
        let d1 = Set((0..<64).filter { a.layers[1].states?[$0] == .dropped })
        let d3 = Set((0..<64).filter { a.layers[3].states?[$0] == .dropped })
        XCTAssertTrue(d1.isSubset(of: d3))
        XCTAssertGreaterThan(d3.count, d1.count)
        XCTAssertEqual(a.layers[0].restoreError.max() ?? 1, 0, accuracy: 1e-6, "nothing changed before the first reduction")
        XCTAssertEqual(a.layers.reduce(cfg.embedAndHeadFlops / 1e9) { $0 + $1.gflops }, a.gflopsCompressed, accuracy: 1e-9)
        XCTAssertEqual(a.settings.first { $0.key == "blocks" }?.value, "1,3", "0-based, as --blocks takes them")
    }

    func testPruneAndMergeKeepsTheFullGrid() throws {
        let e = try engine()
        let s = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: false, keep: 0.5, prune: 0.2)
        let a = try e.analyse(s)
        XCTAssertTrue(a.layers.allSatisfy { $0.tokensIn == 65 && $0.tokensOut == 65 && $0.tokensRun < 65 })
        XCTAssertEqual(a.settings.map(\.key), ["keep", "prune", "grouping", "recovery", "scores"])
        // The explorer plans as `compress` does by default.
        XCTAssertEqual(a.settings.first { $0.key == "recovery" }?.value, "update")
    }

    /// g and u reach the plan: the analysis is what `compress --grouping official --recovery official`
    /// makes of the same live scores, run by the compressed forward pass (both tested against the
    /// official code's fixtures), and a changed setting is a different analysis key.
    func testGroupingAndRecoveryKeysReachThePlan() throws {
        let e = try engine()
        var s = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: false, keep: 0.5, prune: 0.1)
        let before = Analysis.Key(s)
        XCTAssertEqual(s.handle(.char("g")), [.recompute]); XCTAssertEqual(s.grouping, .official)
        XCTAssertEqual(s.handle(.char("u")), [.recompute]); XCTAssertEqual(s.recovery, .official)
        XCTAssertNotEqual(Analysis.Key(s), before, "a result for the old settings is stale")
        let a = try e.analyse(s)
        XCTAssertEqual(a.settings.first { $0.key == "grouping" }?.value, "official")
        XCTAssertEqual(a.settings.first { $0.key == "recovery" }?.value, "official")

        let live = GradientScorer(model: e.model, batch: 1, workers: 1).score(images: e.images[0].input, batch: 1)
        let plan = try PMPlanner.plan(ranks: live.scores.map { $0.map(Double.init) }, config: cfg,
                                      options: .init(keep: 0.5, prune: 0.1, blocks: Array(0..<4), grouping: .official))
        let pm = try PMModel(dense: e.model, blocks: plan, recovery: .official)
        let f = PMForward(model: pm, batch: 1)
        e.images[0].input.withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 1, workers: 1) }
        let top = ExplorerEngine.top(f.logits(batch: 1), 3)
        XCTAssertEqual(a.compressedTop.map(\.cls), top.map(\.cls))
        for (x, y) in zip(a.compressedTop, top) { XCTAssertEqual(x.prob, y.prob, accuracy: 1e-6) }
        for l in 0..<4 { XCTAssertEqual(a.layers[l].states, plan[l].layout?.states, "block \(l)") }

        // The other recovery on the same plan changes the predictions but not the plan.
        _ = s.handle(.char("u"))
        let b = try e.analyse(s)
        for l in 0..<4 { XCTAssertEqual(b.layers[l].states, a.layers[l].states) }
        XCTAssertNotEqual(b.compressedTop[0].prob, a.compressedTop[0].prob)
    }
}
