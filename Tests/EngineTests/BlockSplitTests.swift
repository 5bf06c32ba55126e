import Foundation
import XCTest
@testable import Engine

/// The block split used by token-reduction methods: the attention half then the MLP half give the
/// fused block bit for bit, and the optional per-key attention bias does what it says.
final class BlockSplitTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func testHalvesEqualTheFusedBlock() throws {
        let cfg = ViTConfig(imageSize: 16, patchSize: 4, channels: 1, dim: 16, depth: 2, heads: 2, numClasses: 3)
        let model = try ViTModel(config: cfg)
        var rng = TestRandom(seed: 21)
        for i in 0..<model.table.count { model.params.base[i] = rng.float(0.3) }
        let t = cfg.tokens, d = cfg.dim
        // Batch 3 on 2 workers splits rows and heads; batch 4 gives each worker whole images.
        for (b, workers) in [(3, 1), (3, 2), (4, 2)] {
            let x = rng.floats(b * t * d)
            let fused = Activations(config: cfg, batch: b, keepAllLayers: true)
            let split = Activations(config: cfg, batch: b, keepAllLayers: true)
            x.withUnsafeBufferPointer { p in
                model.blockForward(1, input: p.baseAddress!, tokens: t, into: fused.layers[1], batch: b, workers: workers)
                model.attentionForward(1, input: p.baseAddress!, tokens: t, into: split.layers[1], batch: b, workers: workers)
                model.mlpForward(1, input: split.layers[1].res1, tokens: t, into: split.layers[1], batch: b, workers: workers)
            }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: split.layers[1].res2, count: b * t * d)),
                           Array(UnsafeBufferPointer(start: fused.layers[1].res2, count: b * t * d)), "workers \(workers)")
        }
    }

    /// softmax(l + log s) = s_j e^{l_j} / sum_k s_k e^{l_k}: the bias weights key j by s_j, in every
    /// query row; a zero bias is plain attention, exactly.
    func testKeyBiasWeightsEachKey() {
        var rng = TestRandom(seed: 22)
        let t = 6, heads = 2, hd = 4, inner = heads * hd
        let qkv = rng.floats(t * 3 * inner)
        let sizes: [Float] = [1, 3, 1, 2, 5, 1]
        let logSizes = sizes.map { Foundation.log($0) }
        let zeros = [Float](repeating: 0, count: t)
        let scale = 1 / Float(hd).squareRoot()
        func run(_ bias: [Float]?) -> (out: [Float], att: [Float]) {
            var out = [Float](repeating: 0, count: t * inner), att = [Float](repeating: 0, count: heads * t * t)
            for h in 0..<heads {
                att.withUnsafeMutableBufferPointer { a in
                    if let bias {
                        Attention.forwardHead(out: &out, att: a.baseAddress! + h * t * t, qkv: qkv, head: h, tokens: t, queries: 0..<t,
                                              heads: heads, headDim: hd, scale: scale, keyBias: bias)
                    } else {
                        Attention.forwardHead(out: &out, att: a.baseAddress! + h * t * t, qkv: qkv, head: h, tokens: t, queries: 0..<t,
                                              heads: heads, headDim: hd, scale: scale)
                    }
                }
            }
            return (out, att)
        }
        let plain = run(nil)
        let zero = run(zeros)
        XCTAssertEqual(plain.out, zero.out)
        XCTAssertEqual(plain.att, zero.att)
        let biased = run(logSizes)
        for h in 0..<heads {
            for i in 0..<t {
                let logits = (0..<t).map { j in
                    (0..<hd).reduce(0.0) { $0 + Double(qkv[i * 3 * inner + h * hd + $1]) * Double(qkv[j * 3 * inner + inner + h * hd + $1]) } * Double(scale)
                }
                let w = (0..<t).map { Double(sizes[$0]) * Foundation.exp(logits[$0]) }
                let z = w.reduce(0, +)
                for j in 0..<t { XCTAssertEqual(Double(biased.att[(h * t + i) * t + j]), w[j] / z, accuracy: 1e-6) }
            }
        }
    }
}
