import Foundation
import XCTest
@testable import Compression
import Engine

/// EViT: the top-k and the fused token on hand-made attention, the whole pass against a naive
/// Double EViT ViT, keep rate 1 against the dense pass, the token counts of DeiT, bad values and
/// the FLOPs.
final class EViTTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// Two heads over 5 tokens (CLS + 4 candidates). CLS's rows: head 0 [., .1, .5, .2, .2],
    /// head 1 [., .3, .1, .4, .2]; head mean over the candidates [.2, .3, .3, .2]. Each head alone
    /// would rank differently; the mean keeps candidates 1 and 2 (tie at .3: the lower first) and
    /// fuses 0 and 3 into .2 x0 + .2 x3, not renormalised.
    func handMadeAttention() -> [Float] {
        let t = 5
        var att = [Float](repeating: 0, count: 2 * t * t)
        let cls0: [Float] = [0, 0.1, 0.5, 0.2, 0.2], cls1: [Float] = [0, 0.3, 0.1, 0.4, 0.2]
        for j in 0..<t { att[j] = cls0[j]; att[t * t + j] = cls1[j] }
        // Other query rows must not matter.
        for i in (1 * t)..<(t * t) { att[i] = 0.9 }
        return att
    }

    func testKeptAreTheTopKOfTheHeadMeanCLSAttention() {
        let att = handMadeAttention()
        let plan = att.withUnsafeBufferPointer { AttentiveFusion.plan(att: $0.baseAddress!, heads: 2, tokens: 5, prefix: 1, keep: 2) }
        for (j, want) in [0.2, 0.3, 0.3, 0.2].enumerated() { XCTAssertEqual(Double(plan.attention[j]), want, accuracy: 1e-7) }
        XCTAssertEqual(plan.kept, [1, 2])
        XCTAssertEqual(plan.fused, [0, 3])
        let three = att.withUnsafeBufferPointer { AttentiveFusion.plan(att: $0.baseAddress!, heads: 2, tokens: 5, prefix: 1, keep: 3) }
        XCTAssertEqual(three.kept, [1, 2, 0], "best first; ties to the lower position")
        XCTAssertEqual(three.fused, [3])
    }

    func testFusedTokenIsTheAttentionWeightedSum() {
        let att = handMadeAttention()
        let plan = att.withUnsafeBufferPointer { AttentiveFusion.plan(att: $0.baseAddress!, heads: 2, tokens: 5, prefix: 1, keep: 2) }
        // x [5, 2]: CLS, then candidates 0..3.
        let x: [Float] = [9, 9, 1, 2, 3, 4, 5, 6, 7, 8]
        var out = [Float](repeating: -1, count: 4 * 2)
        AttentiveFusion.apply(plan, x: x, prefix: 1, dim: 2, into: &out)
        XCTAssertEqual(Array(out[0..<6]), [9, 9, 3, 4, 5, 6], "CLS, then candidates 1 and 2 in attention order")
        XCTAssertEqual(out[6], 0.2 * 1 + 0.2 * 7, accuracy: 1e-6)
        XCTAssertEqual(out[7], 0.2 * 2 + 0.2 * 8, accuracy: 1e-6)
        let m = AttentiveFusion.mapping(plan, prefix: 1)
        XCTAssertEqual(m.newOf, [0, 3, 1, 2, 3])
        XCTAssertEqual(m.carry, [0, 2, 3, -1])
    }

    /// The whole pass (batch 2, 1 and 2 workers) against the naive Double EViT ViT: logits, the
    /// tokens each patch is in after every block, kept/dropped states, and the full grid.
    func testWholePassMatchesNaiveDouble() throws {
        for (distilled, keep, blocks) in [(false, 0.6, [0, 2]), (false, 0.5, [0, 1, 2]), (true, 0.7, [1])] {
            let model = try tinyModel(seed: distilled ? 22 : 21, distilled: distilled)
            let c = model.config
            let evit = try EViTModel(dense: model, keepRate: keep, blocks: blocks)
            let images = randomImages(2, c, seed: 23)
            let naive = NaiveViT(model)
            let want = (0..<2).map { NaiveEViT.forward(naive, image: image($0, of: images, c), keepRate: keep, blocks: blocks) }
            for workers in [1, 2] {
                let run = ReducedRun(evit.forward(batch: 2, recordLayouts: true), images: images, batch: 2, workers: workers, config: c)
                let f = run.forward
                for i in 0..<2 {
                    let label = "distilled \(distilled) keep \(keep) blocks \(blocks) workers \(workers) image \(i)"
                    XCTAssertLessThan(maxAbsDiff(run.logits(image: i), want[i].logits), 1e-4, label)
                    for l in 0..<c.depth {
                        let lay = f.layouts[l][i], ref = want[i].layers[l]
                        XCTAssertEqual(lay.members.map(Set.init), ref.source, "\(label) layer \(l)")
                        XCTAssertEqual(lay.fused, ref.fused, "\(label) layer \(l)")
                        let dropped = Set(ref.source.indices.filter { ref.fused[$0] }.flatMap { ref.source[$0] })
                        XCTAssertEqual(lay.states, (0..<c.numPatches).map { dropped.contains($0) ? PatchState.dropped : .kept })
                        let grid = ref.grid(prefix: c.prefixTokens, patches: c.numPatches).flatMap { $0 }
                        XCTAssertLessThan(maxAbsDiff(run.grid(block: l, image: i), grid), 1e-4, label)
                    }
                }
            }
        }
    }

    /// Keep rate 1 keeps every candidate: no block reorganises, the dense logits bit for bit.
    func testKeepRateOneIsDense() throws {
        let model = try tinyModel(seed: 24)
        let images = randomImages(3, model.config, seed: 25)
        let evit = try EViTModel(dense: model, keepRate: 1, blocks: [0, 1, 2])
        XCTAssertEqual(evit.reducing, [false, false, false])
        for workers in [1, 2] {
            let dense = model.forward(images: images, batch: 3, workers: workers).logits.data
            let f = evit.forward(batch: 3, recordLayouts: true)
            images.withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 3, workers: workers) }
            XCTAssertEqual(f.logits(batch: 3), dense)
            XCTAssertTrue(f.layouts.allSatisfy { $0.allSatisfy { $0.states.allSatisfy { $0 == .kept } } })
        }
    }

    /// DeiT at keep 0.7 (the notes' count: 197 -> 140 -> 100 -> 72 at blocks 3, 6, 9).
    func testDeiTTokenCountsAndDefaultBlocks() throws {
        XCTAssertEqual(EViTModel.defaultBlocks(depth: 12), [3, 6, 9])
        XCTAssertEqual(EViTModel.defaultBlocks(depth: 8), [2, 4, 6])
        XCTAssertEqual(EViTModel.defaultBlocks(depth: 3), [0, 1, 2])
        XCTAssertEqual(EViTModel.defaultBlocks(depth: 1), [0])
        let cfg = ViTConfig(imageSize: 224, patchSize: 16, channels: 3, dim: 8, depth: 12, heads: 2, numClasses: 2)
        let evit = try EViTModel(dense: try ViTModel(config: cfg))
        XCTAssertEqual(evit.tokenCounts.map(\.mlp), [197, 197, 197, 140, 140, 140, 100, 100, 100, 72, 72, 72])
        XCTAssertEqual(evit.tokenCounts.map(\.attention), [197, 197, 197, 197, 140, 140, 140, 100, 100, 100, 72, 72])
    }

    func testBadValuesAreRefused() throws {
        let model = try tinyModel(seed: 26)
        for keep in [0, -0.5, 1.5, .nan, .infinity] { XCTAssertThrowsError(try EViTModel(dense: model, keepRate: keep), "\(keep)") }
        XCTAssertThrowsError(try EViTModel(dense: model, blocks: [3]))
        XCTAssertThrowsError(try EViTModel(dense: model, blocks: [-1]))
        XCTAssertThrowsError(try EViTModel(dense: model, blocks: [1, 1]))
        XCTAssertNoThrow(try EViTModel(dense: model, keepRate: 1e-9, blocks: [2]), "keeps at least one candidate")
    }

    /// Honest FLOPs by hand: 17 tokens, dim 16, 2 heads of 8, MLP 64, keep 0.5 at block 1:
    /// 16 candidates -> 8 kept + 1 fused (8 fused away): tokens 17, 17 -> 10, 10.
    func testFlopsByHand() throws {
        let evit = try EViTModel(dense: try tinyModel(seed: 27), keepRate: 0.5, blocks: [1])
        XCTAssertEqual(evit.tokenCounts, [TokenCount(attention: 17, mlp: 17), TokenCount(attention: 17, mlp: 10), TokenCount(attention: 10, mlp: 10)])
        func attention(_ t: Double) -> Double { 2 * (t * 16 * 48 + 2 * t * t * 16 + t * 16 * 16) }
        func mlp(_ t: Double) -> Double { 2 * 2 * t * 16 * 64 }
        let embedHead = 2.0 * (16 * 16 * 16) + 2 * (16 * 5)
        let fuse = 2.0 * 8 * 16
        XCTAssertEqual(evit.flopsPerImage, embedHead + attention(17) + mlp(17) + attention(17) + mlp(10) + fuse + attention(10) + mlp(10))
    }
}
