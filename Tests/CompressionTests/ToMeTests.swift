import Foundation
import XCTest
@testable import Compression
import Engine

/// ToMe: the matching and weighted merge on hand-made and random tokens against a naive Double
/// version of tome/merge.py, the whole pass against a naive Double ToMe ViT, the bookkeeping
/// (sizes, sources, states, full grid), r = 0 against the dense pass, and the FLOPs.
final class ToMeTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// Runs the matching and merge on one image given as arrays.
    func mergeOnce(metric: [Float], x: [Float], size: [Float], t: Int, hd: Int, d: Int, r: Int, distilled: Bool)
        -> (plan: BipartiteMatching.Plan, x: [Float], size: [Float]) {
        var scores = [Float](repeating: 0, count: ((t + 1) / 2) * (t / 2))
        let plan = metric.withUnsafeBufferPointer { m in
            scores.withUnsafeMutableBufferPointer { s in
                BipartiteMatching.plan(metric: m.baseAddress!, tokens: t, dim: hd, r: r, distilled: distilled, scores: s.baseAddress!)
            }
        }
        var out = [Float](repeating: 0, count: (t - r) * d), newSize = [Float](repeating: 0, count: t - r)
        BipartiteMatching.mergeWeighted(plan, x: x, size: size, dim: d, into: &out, newSize: &newSize)
        return (plan, out, newSize)
    }

    /// Unit vectors at distinct angles in the plane; tokens 2 (in A) and 5 (in B) point the same
    /// way, so they are the most similar pair and merge first, and their merge is their value.
    func testIdenticalTokensMergeFirstAndKeepTheirValue() {
        let t = 7, hd = 2, d = 3
        let angles: [Double] = [0, 0.3, 1.2, 2.0, 2.6, 1.2, 3.0]  // token 5 = token 2
        let metric = angles.flatMap { [Float(cos($0)), Float(sin($0))] }
        var x = (0..<(t * d)).map { Float($0) * 0.25 - 1 }
        for e in 0..<d { x[5 * d + e] = x[2 * d + e] }
        let r1 = mergeOnce(metric: metric, x: x, size: [Float](repeating: 1, count: t), t: t, hd: hd, d: d, r: 1, distilled: false)
        XCTAssertEqual(r1.plan.sources, [2])
        XCTAssertEqual(r1.plan.newOf[2], r1.plan.newOf[5])
        // Output: unmerged A (0, 4, 6) then B (1, 3, 5): token 5 is the last.
        XCTAssertEqual(r1.plan.carry, [0, 4, 6, 1, 3, 5])
        XCTAssertEqual(Array(r1.x[(5 * d)..<(6 * d)]), Array(x[(2 * d)..<(3 * d)]))
        XCTAssertEqual(r1.size, [1, 1, 1, 1, 1, 2])
        // With sizes, the same pair still gives the same value (a weighted average of equals).
        let sizes: [Float] = [1, 2, 3, 1, 4, 5, 1]
        let r2 = mergeOnce(metric: metric, x: x, size: sizes, t: t, hd: hd, d: d, r: 1, distilled: false)
        for e in 0..<d { XCTAssertEqual(r2.x[5 * d + e], x[2 * d + e], accuracy: 1e-6) }
        XCTAssertEqual(r2.size[5], 8)
        // CLS (token 0) never merges, even when it is the most similar to everything.
        var clsLike = metric
        clsLike[0] = Float(cos(1.2)); clsLike[1] = Float(sin(1.2))
        let r3 = mergeOnce(metric: clsLike, x: x, size: [Float](repeating: 1, count: t), t: t, hd: hd, d: d, r: 3, distilled: false)
        XCTAssertFalse(r3.plan.sources.contains(0))
        XCTAssertEqual(r3.plan.newOf[0], 0)
    }

    /// The matching, the output order and the weighted average against the naive Double version,
    /// on random metrics and sizes; odd and even token counts, with and without DIST.
    func testMergeMatchesNaiveDouble() {
        var rng = SplitMix64(seed: 5)
        for (t, distilled, r) in [(11, false, 3), (12, false, 5), (12, true, 3), (9, true, 3)] {
            let hd = 4, d = 5, heads = 2
            let keys = (0..<t).map { _ in (0..<(heads * hd)).map { _ in Double(rng.nextNormal()) } }
            // The engine's metric from a qkv laid out as [t, 3 * heads * hd].
            var qkv = [Float](repeating: 0, count: t * 3 * heads * hd)
            for j in 0..<t { for e in 0..<(heads * hd) { qkv[j * 3 * heads * hd + heads * hd + e] = Float(keys[j][e]) } }
            var metric = [Float](repeating: 0, count: t * hd)
            BipartiteMatching.metric(qkv: qkv, tokens: t, heads: heads, headDim: hd, into: &metric)
            let x = (0..<t).map { _ in (0..<d).map { _ in Double(rng.nextNormal()) } }
            let size = (0..<t).map { _ in Double(1 + rng.next() % 4) }
            let got = mergeOnce(metric: metric, x: x.flatMap { $0.map(Float.init) }, size: size.map(Float.init), t: t, hd: hd, d: d,
                                r: r, distilled: distilled)
            var naive = NaiveTokens(x, prefix: distilled ? 2 : 1)
            naive.size = size
            naive.source = (0..<t).map { [$0] }  // track old token ids through the merge
            let want = NaiveToMe.merge(naive, keys: keys.map { $0.map { Double(Float($0)) } }, r: r, heads: heads, headDim: hd, distilled: distilled)
            XCTAssertEqual(got.plan.tokens, t - r)
            XCTAssertEqual(want.x.count, t - r)
            for n in 0..<(t - r) {
                let members = Set((0..<t).filter { Int(got.plan.newOf[$0]) == n })
                XCTAssertEqual(members, want.source[n], "t \(t) distilled \(distilled) token \(n)")
                XCTAssertEqual(Double(got.size[n]), want.size[n])
                for e in 0..<d { XCTAssertEqual(Double(got.x[n * d + e]), want.x[n][e], accuracy: 1e-5) }
            }
            if distilled { XCTAssertEqual(got.plan.newOf[1], 1, "DIST stays second") }
        }
    }

    /// The whole pass (batch 2, 1 and 2 workers) against the naive Double ToMe ViT: logits, every
    /// layer's tokens and sources in ToMe's order, and the full grid after every block.
    func testWholePassMatchesNaiveDouble() throws {
        for (distilled, r, prop) in [(false, [2, 2, 2], true), (false, [3, 0, 4], false), (true, [2, 3, 1], true)] {
            let model = try tinyModel(seed: distilled ? 8 : 7, distilled: distilled)
            let c = model.config
            let tome = try ToMeModel(dense: model, r: r, proportionalAttention: prop)
            let images = randomImages(2, c, seed: 9)
            let naive = NaiveViT(model)
            let want = (0..<2).map { NaiveToMe.forward(naive, image: image($0, of: images, c), r: tome.r, proportional: prop) }
            for workers in [1, 2] {
                let run = ReducedRun(tome.forward(batch: 2, recordLayouts: true), images: images, batch: 2, workers: workers, config: c)
                let f = run.forward
                for i in 0..<2 {
                    let label = "distilled \(distilled) r \(r) prop \(prop) workers \(workers) image \(i)"
                    XCTAssertLessThan(maxAbsDiff(run.logits(image: i), want[i].logits), 1e-4, label)
                    for l in 0..<c.depth {
                        let lay = f.layouts[l][i], ref = want[i].layers[l]
                        XCTAssertEqual(lay.tokensOut, ref.x.count, label)
                        XCTAssertEqual(lay.members.map(Set.init), ref.source, "\(label) layer \(l)")
                        XCTAssertEqual(lay.anchor, ref.anchor, "\(label) layer \(l)")
                        let grid = ref.grid(prefix: c.prefixTokens, patches: c.numPatches).flatMap { $0 }
                        XCTAssertLessThan(maxAbsDiff(run.grid(block: l, image: i), grid), 1e-4, label)
                    }
                }
                XCTAssertEqual(f.layouts.map { $0[0].tokensOut }, tome.tokenCounts.map(\.mlp))
            }
        }
    }

    /// Sizes add up to the patch count at every layer, the sources partition the patches, every
    /// token holds its anchor, and the states say the same: singletons kept, one center per
    /// multi-patch token with raster-ordered group ids, members weighted 1 / size.
    func testSizesSourcesAndStates() throws {
        let model = try tinyModel(seed: 11, depth: 4)
        let c = model.config
        let f = try ToMeModel(dense: model, r: 3).forward(batch: 3, recordLayouts: true)
        randomImages(3, c, seed: 12).withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 3) }
        XCTAssertEqual(f.tokenCounts.map(\.mlp), [14, 11, 8, 5])
        for l in 0..<c.depth {
            for lay in f.layouts[l] {
                XCTAssertEqual(lay.patchCount.reduce(0, +), c.numPatches)
                XCTAssertEqual(lay.patchCount[0], 0, "CLS holds no patch")
                let members = lay.members
                XCTAssertEqual(members.flatMap { $0 }.sorted(), Array(0..<c.numPatches), "a partition")
                for t in 1..<lay.tokensOut {
                    XCTAssertEqual(members[t].count, lay.patchCount[t])
                    XCTAssertGreaterThan(members[t].count, 0)
                    XCTAssertTrue(members[t].contains(lay.anchor[t]), "token \(t) holds its anchor")
                }
                let states = lay.states
                let groups = (1..<lay.tokensOut).filter { lay.patchCount[$0] > 1 }.map { lay.anchor[$0] }.sorted()
                for p in 0..<c.numPatches {
                    let t = lay.holder[p]
                    switch states[p] {
                    case .kept: XCTAssertEqual(lay.patchCount[t], 1)
                    case .center(let g): XCTAssertEqual(groups[g], p)
                    case .merged(let g, let w):
                        XCTAssertEqual(groups[g], lay.anchor[t])
                        XCTAssertEqual(w, 1 / Float(lay.patchCount[t]))
                    default: XCTFail("ToMe only keeps and merges")
                    }
                }
            }
        }
    }

    /// r = 0: no merge, no bias, the same GEMMs on the same rows: the dense logits bit for bit.
    func testZeroRGivesTheDenseLogits() throws {
        let model = try tinyModel(seed: 13)
        let images = randomImages(3, model.config, seed: 14)
        for workers in [1, 2] {
            let dense = model.forward(images: images, batch: 3, workers: workers).logits.data
            let f = try ToMeModel(dense: model, r: 0).forward(batch: 3)
            images.withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 3, workers: workers) }
            XCTAssertEqual(f.logits(batch: 3), dense)
        }
    }

    /// Proportional attention with every size 1 (bias log 1 = 0) is plain attention, exactly.
    func testProportionalAttentionWithUnitSizesIsPlainAttention() throws {
        let model = try tinyModel(seed: 15)
        let c = model.config
        let x = randomImages(2, c, seed: 16)
        let a = Activations(config: c, batch: 2, keepAllLayers: true)
        let zeros = [Float](repeating: 0, count: 2 * c.tokens)
        x.withUnsafeBufferPointer { model.embed(a, images: $0.baseAddress!, batch: 2, workers: 1) }
        model.attentionForward(1, input: a.x0, tokens: c.tokens, into: a.layers[0], batch: 2, workers: 1)
        model.attentionForward(1, input: a.x0, tokens: c.tokens, into: a.layers[1], batch: 2, workers: 1, keyBias: zeros)
        let n = 2 * c.tokens * c.dim, na = 2 * c.heads * c.tokens * c.tokens
        XCTAssertEqual(Array(UnsafeBufferPointer(start: a.layers[0].res1, count: n)), Array(UnsafeBufferPointer(start: a.layers[1].res1, count: n)))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: a.layers[0].att, count: na)), Array(UnsafeBufferPointer(start: a.layers[1].att, count: na)))
    }

    /// r is capped at half the unprotected tokens, and bad values are refused.
    func testScheduleAndBadValues() throws {
        let model = try tinyModel(seed: 17)
        XCTAssertEqual(try ToMeModel(dense: model, r: 100).tokenCounts.map(\.mlp), [9, 5, 3])  // 17 -> 9 -> 5 -> 3
        XCTAssertEqual(try ToMeModel(dense: model, r: [4]).r, [4, 0, 0], "a short list is padded with 0")
        XCTAssertThrowsError(try ToMeModel(dense: model, r: -1))
        XCTAssertThrowsError(try ToMeModel(dense: model, r: [1, 1, 1, 1]))
        let distilled = try tinyModel(seed: 18, distilled: true)
        XCTAssertEqual(try ToMeModel(dense: distilled, r: 100).tokenCounts.map(\.mlp), [10, 6, 4])  // 18 -> 10 -> 6 -> 4
    }

    /// (r, inflect) against ToMe's own `parse_r` (tome/utils.py) run in Python on the same arguments.
    func testInflectedScheduleMatchesParseR() throws {
        let cases: [(Int, Int, Double, [Int])] = [
            (12, 8, -1, [16, 14, 13, 11, 10, 8, 7, 5, 4, 2, 1, 0]),
            (12, 8, -0.5, [12, 11, 10, 9, 9, 8, 7, 6, 6, 5, 4, 4]),
            (12, 13, 0.3, [9, 9, 10, 11, 11, 12, 13, 14, 14, 15, 16, 17]),
            (12, 7, 1, [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 14]),
            (4, 5, -1, [10, 6, 3, 0]),
        ]
        for (depth, r, inflect, want) in cases {
            XCTAssertEqual(try ToMeModel.Schedule.inflected(r: r, inflect: inflect).values(depth: depth), want, "r \(r) inflect \(inflect)")
        }
        XCTAssertEqual(try ToMeModel.Schedule.inflected(r: 6, inflect: 0).values(depth: 5), [6, 6, 6, 6, 6], "inflect 0 is constant")
        XCTAssertThrowsError(try ToMeModel.Schedule.inflected(r: 4, inflect: 1.5).values(depth: 12))
        XCTAssertThrowsError(try ToMeModel.Schedule.inflected(r: 4, inflect: .nan).values(depth: 12))
        let model = try tinyModel(seed: 17)
        XCTAssertEqual(try ToMeModel(dense: model, schedule: .inflected(r: 2, inflect: -1)).r, [4, 2, 0])
    }

    /// Honest FLOPs by hand for 17 tokens, dim 16, 2 heads of 8, MLP 64, 4x4 patches of 16 pixels,
    /// 5 classes, r = 3: tokens 17 -> 14 -> 11 -> 8.
    func testFlopsByHand() throws {
        let tome = try ToMeModel(dense: try tinyModel(seed: 19), r: 3)
        func attention(_ t: Double) -> Double { 2 * (t * 16 * 48 + 2 * t * t * 16 + t * 16 * 16) }
        func mlp(_ t: Double) -> Double { 2 * 2 * t * 16 * 64 }
        func similarity(_ a: Double, _ b: Double) -> Double { 2 * a * b * 8 }
        let embedHead = 2.0 * (16 * 16 * 16) + 2 * (16 * 5)
        let want = embedHead + attention(17) + mlp(14) + similarity(9, 8) + attention(14) + mlp(11) + similarity(7, 7)
            + attention(11) + mlp(8) + similarity(6, 5)
        XCTAssertEqual(tome.flopsPerImage, want)
        // Official formula, MACs: classifier x patches, attention at t in, MLP at t out.
        func offAttention(_ t: Double) -> Double { 3 * t * 16 * 16 + t * 16 * t + 2 * t * t + t * 16 * t + t * 16 * 16 }
        XCTAssertEqual(tome.officialFlops, 16 * 5 * 16 + offAttention(17) + mlp(14) / 2 + offAttention(14) + mlp(11) / 2 + offAttention(11) + mlp(8) / 2)
    }
}
