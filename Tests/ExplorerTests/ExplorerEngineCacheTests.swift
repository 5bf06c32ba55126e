import XCTest
@testable import Explorer
@testable import Compression
import Engine

/// The engine keeps each image's live scores and dense outputs: a recompute for new settings runs
/// only the compressed pass, and gives exactly what an engine that never saw the image computes.
final class ExplorerEngineCacheTests: XCTestCase {
    let cfg = ViTConfig(imageSize: 16, patchSize: 2, channels: 1, dim: 16, depth: 4, heads: 2, numClasses: 3)

    /// Two engines over the same model and three images: `ranks` for the calibrated source and a
    /// PM file's plan for the file source.
    func engines(cacheCapacity: Int = 4) throws -> (ExplorerEngine, () -> ExplorerEngine) {
        let m = try ViTModel(config: cfg)
        m.initializeForTraining(seed: 3)
        var rng = SplitMix64(seed: 5)
        let images = (0..<3).map { i in
            ExplorerImage(name: "r\(i)", label: nil, input: (0..<(16 * 16)).map { _ in rng.nextUniform() * 2 - 1 },
                          pixels: [UInt8](repeating: 128, count: 16 * 16 * 3), size: 16)
        }
        let ranks = (0..<cfg.depth).map { _ in (0..<cfg.numPatches).map { _ in Double(rng.nextUniform()) } }
        let plan = try PMPlanner.plan(ranks: Array(ranks.reversed()), config: cfg, options: .init(keep: 0.6, prune: 0.1, blocks: [1, 2]))
        let file = try PMModel(dense: m, blocks: plan, recovery: .official)
        func make() -> ExplorerEngine {
            ExplorerEngine(model: m, ranks: ranks, filePlan: file, images: images, classNames: ["a", "b", "c"], workers: 1,
                           cacheCapacity: cacheCapacity)
        }
        return (make(), make)
    }

    func state(_ method: ExplorerState.Method, _ source: ExplorerState.ScoreSource, image: Int = 0) -> ExplorerState {
        var s = ExplorerState(depth: cfg.depth, imageCount: 3, hasCalibratedRanks: true, hasFilePlan: true, keep: 0.55, prune: 0.15)
        s.method = method; s.scoreSource = source; s.image = image
        return s
    }

    func assertIdentical(_ a: Analysis, _ b: Analysis, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.key, b.key, what, file: file, line: line)
        XCTAssertEqual(a.layers.count, b.layers.count, what, file: file, line: line)
        for (l, (x, y)) in zip(a.layers, b.layers).enumerated() {
            let at = "\(what), block \(l)"
            XCTAssertEqual([x.tokensIn, x.tokensRun, x.tokensOut], [y.tokensIn, y.tokensRun, y.tokensOut], at, file: file, line: line)
            XCTAssertEqual(x.gflops, y.gflops, at, file: file, line: line)
            XCTAssertEqual(x.states, y.states, at, file: file, line: line)
            XCTAssertEqual(x.restoreError, y.restoreError, at, file: file, line: line)
            XCTAssertEqual(x.liveScores, y.liveScores, at, file: file, line: line)
        }
        XCTAssertEqual(a.denseTop.map(\.cls), b.denseTop.map(\.cls), what, file: file, line: line)
        XCTAssertEqual(a.denseTop.map(\.prob), b.denseTop.map(\.prob), what, file: file, line: line)
        XCTAssertEqual(a.compressedTop.map(\.cls), b.compressedTop.map(\.cls), what, file: file, line: line)
        XCTAssertEqual(a.compressedTop.map(\.prob), b.compressedTop.map(\.prob), what, file: file, line: line)
        XCTAssertEqual(a.gflopsDense, b.gflopsDense, what, file: file, line: line)
        XCTAssertEqual(a.gflopsCompressed, b.gflopsCompressed, what, file: file, line: line)
        XCTAssertEqual(a.planNote, b.planNote, what, file: file, line: line)
        XCTAssertEqual(a.settings.map(\.key), b.settings.map(\.key), what, file: file, line: line)
        XCTAssertEqual(a.settings.map(\.value), b.settings.map(\.value), what, file: file, line: line)
    }

    /// Every method and plan source, on an engine that has analysed other images and settings
    /// before (its buffers and cache in use), is bit for bit what a fresh engine computes.
    func testCachedAnalysisIsIdenticalToAFreshEngines() throws {
        let (warm, fresh) = try engines()
        let cases: [(ExplorerState.Method, ExplorerState.ScoreSource)] = [
            (.pruneMerge, .calibrated), (.pruneMerge, .image), (.pruneMerge, .file), (.tome, .calibrated), (.tome, .image), (.evit, .image),
        ]
        // Warm up on every image and setting, in an order unlike the one checked.
        for image in [2, 1, 0] {
            for (m, src) in cases.reversed() { _ = try warm.analyse(state(m, src, image: image)) }
        }
        for image in [1, 0] {
            for (m, src) in cases {
                var s = state(m, src, image: image)
                for variant in 0..<2 {
                    if variant == 1 { s.keep = 0.75; s.prune = 0.05; s.grouping = .official; s.recovery = .official }
                    let before = warm.passes
                    let cached = try warm.analyse(s)
                    XCTAssertEqual(warm.passes, .init(dense: before.dense, scores: before.scores, compressed: before.compressed + 1),
                                   "image \(image) was held")
                    assertIdentical(cached, try fresh().analyse(s), "\(m.rawValue), \(src.rawValue), image \(image), variant \(variant)")
                }
            }
        }
    }

    /// Keep, prune, method and source changes on an image the engine holds run the compressed pass
    /// only; a new image runs its dense and score passes once.
    func testPlanChangesOnAHeldImageRunOnlyTheCompressedPass() throws {
        let (e, _) = try engines()
        var s = state(.pruneMerge, .calibrated)
        _ = try e.analyse(s)
        XCTAssertEqual(e.passes, .init(dense: 1, scores: 1, compressed: 1))
        for key: ExplorerState.Key in [.up, .char("["), .char("s"), .char("g"), .char("u"), .char("m"), .down, .char("m"), .char("s")] {
            XCTAssertEqual(s.handle(key), [.recompute], "\(key)")
            let before = e.passes
            _ = try e.analyse(s)
            XCTAssertEqual(e.passes.dense, before.dense, "\(key)")
            XCTAssertEqual(e.passes.scores, before.scores, "\(key)")
            XCTAssertEqual(e.passes.compressed, before.compressed + 1, "\(key)")
        }
        // n: an image the engine has not seen.
        let before = e.passes
        _ = s.handle(.char("n"))
        _ = try e.analyse(s)
        XCTAssertEqual(e.passes, .init(dense: before.dense + 1, scores: before.scores + 1, compressed: before.compressed + 1))
    }

    func testPrepareRunsEachPassOnceAndTheAnalysisAfterItNone() throws {
        let (e, _) = try engines()
        e.prepare(image: 1)
        XCTAssertEqual(e.passes, .init(dense: 1, scores: 1, compressed: 0))
        e.prepare(image: 1)
        XCTAssertEqual(e.passes, .init(dense: 1, scores: 1, compressed: 0), "a held image is not prepared again")
        _ = try e.analyse(state(.tome, .image, image: 1))
        XCTAssertEqual(e.passes, .init(dense: 1, scores: 1, compressed: 1))
        e.prepare(image: 7)
        XCTAssertEqual(e.cachedImages, [1, 2], "out of range: clamped, as analyse does")
    }

    /// The dense outputs and logits the engine keeps come from the live scores' forward pass: they
    /// are bit for bit what a separate dense pass computes (the backward must leave them alone).
    func testTheKeptDenseOutputsAreThoseOfADensePass() throws {
        let (e, _) = try engines()
        let r = e.reference(image: 2)
        let c = cfg, n = c.tokens, d = c.dim
        let acts = Activations(config: c, batch: 1, keepAllLayers: true)
        var outputs: [Float] = []
        e.images[2].input.withUnsafeBufferPointer { x in
            e.model.forward(acts, images: x.baseAddress!, batch: 1, workers: 1) { _, a in
                outputs.append(contentsOf: UnsafeBufferPointer(start: a.res2, count: n * d))
            }
        }
        XCTAssertEqual(r.denseOutputs, outputs)
        XCTAssertEqual(r.denseLogits, Array(UnsafeBufferPointer(start: acts.logits, count: c.numClasses)))
        XCTAssertEqual(r.live.scores, GradientScorer(model: e.model, batch: 1, workers: 1).score(images: e.images[2].input, batch: 1).scores)
    }

    /// The least recently used image goes first; analysing or preparing an image marks it used.
    func testTheCacheKeepsTheMostRecentlyUsedImages() throws {
        let (e, _) = try engines(cacheCapacity: 2)
        e.prepare(image: 0); e.prepare(image: 1)
        _ = try e.analyse(state(.evit, .calibrated, image: 0))
        e.prepare(image: 2)
        XCTAssertEqual(e.cachedImages, [0, 2])
        XCTAssertEqual(e.passes.dense, 3)
        _ = try e.analyse(state(.evit, .calibrated, image: 1))
        XCTAssertEqual(e.passes.dense, 4, "image 1 was dropped")
        XCTAssertEqual(e.cachedImages, [2, 1])
    }
}

/// What each key costs the engine, through the analyses the screen needs (`AnalysisStore`): keys
/// that only move around what is drawn run no pass at all.
extension ExplorerEngineCacheTests {
    func testNavigationKeysRunNoPassAndPlanKeysOnlyTheCompressedOne() throws {
        let (e, _) = try engines()
        var s = ExplorerState(depth: cfg.depth, grid: cfg.grid, imageCount: 3, hasCalibratedRanks: true)
        var store = AnalysisStore()
        try store.fill(for: s, using: e)
        XCTAssertEqual(e.passes, .init(dense: 1, scores: 1, compressed: 1))
        let navigation: [ExplorerState.Key] = [.right, .right, .left, .end, .home, .char("v"), .tab, .char("2"), .char("1"), .char("t"),
                                               .char("L"), .shiftDown, .char("H"), .escape, .char("?"), .char("?"), .ctrlL, .resize]
        for k in navigation {
            let before = e.passes
            _ = s.handle(k)
            try store.fill(for: s, using: e)
            XCTAssertEqual(e.passes, before, "\(k) only redraws")
            XCTAssertNotNil(store.analysis(for: s))
        }
        for k: ExplorerState.Key in [.up, .char("["), .char("g"), .char("u"), .char("m"), .char("s")] {
            let before = e.passes
            _ = s.handle(k)
            try store.fill(for: s, using: e)
            XCTAssertEqual(e.passes, .init(dense: before.dense, scores: before.scores, compressed: before.compressed + 1), "\(k)")
        }
        // Back to settings seen before: already there.
        let before = e.passes
        _ = s.handle(.down)
        _ = s.handle(.up)
        try store.fill(for: s, using: e)
        XCTAssertEqual(e.passes, before)
        // The methods layout needs every other method at the same settings.
        let others = ExplorerState.Method.allCases.count - 1
        _ = s.handle(.char("3"))
        try store.fill(for: s, using: e)
        XCTAssertEqual(e.passes.compressed, before.compressed + others)
        XCTAssertEqual(store.methodAnalyses(for: s).count, others)
    }
}
