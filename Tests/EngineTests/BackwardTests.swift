import XCTest
@testable import Engine

/// The whole backward pass against timm/PyTorch autograd (vit-s8 fixture): loss, every parameter's
/// gradient, every block's d loss / d attention, and the gradient-weighted attention scores.
final class BackwardTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// |a - b| <= 1e-4 |b|, or <= 1e-6 for tiny values.
    func assertClose(_ a: [Float], _ b: [Float], _ what: String, rel: Float = 1e-4, abs absTol: Float = 1e-6,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var worst: Float = 0, at = -1
        for i in a.indices {
            let excess = abs(a[i] - b[i]) - max(rel * abs(b[i]), absTol)
            if excess > worst { worst = excess; at = i }
        }
        if at >= 0 {
            XCTFail("\(what): element \(at) is \(a[at]), reference \(b[at])", file: file, line: line)
        }
    }

    func testVitS8GradientsMatchPyTorch() throws {
        let model = try ViTModel(path: Fixtures.path("vit-s8.safetensors"))
        let c = model.config
        let ref = try Fixtures.file("vit-s8.reference.safetensors")
        let input = try ref.floats("input")
        let labels = try ref.floats("labels").map { Int32($0) }
        // Plain weights, and weights packed for the forward and the input-gradient products.
        for (workers, packed) in [(1, false), (2, false), (2, true)] {
            if packed { model.packWeights(forBackward: true) } else { model.unpackWeights() }
            let acts = Activations(config: c, batch: 2, keepAllLayers: true)
            if packed {
                // A shape runs packed once it has come back often enough: passes to get there.
                let warm = Activations(config: c, batch: 2, keepAllLayers: true)
                let s = BackwardScratch(config: c, batch: 2), d = [Float](repeating: 0.1, count: 20)
                for _ in 1..<MatMulThreadCache.creationSightings {
                    input.withUnsafeBufferPointer { model.forward(warm, images: $0.baseAddress!, batch: 2, workers: workers) }
                    model.backward(warm, scratch: s, grads: Gradients(model: model), dlogits: d, batch: 2, workers: workers)
                }
            }
            input.withUnsafeBufferPointer { model.forward(acts, images: $0.baseAddress!, batch: 2, workers: workers) }
            var probs = [Float](repeating: 0, count: 20), dlogits = probs
            let loss = CrossEntropy.forward(probs: &probs, logits: acts.logits, labels: labels, batch: 2, classes: 10, smoothing: 0)
            XCTAssertEqual(Float(loss), try ref.floats("loss")[0], accuracy: 1e-5)
            CrossEntropy.backward(dlogits: &dlogits, probs: probs, labels: labels, batch: 2, classes: 10, smoothing: 0, scale: 0.5)
            let grads = Gradients(model: model)
            let scratch = BackwardScratch(config: c, batch: 2)
            var scores = [Float](repeating: 0, count: c.depth * c.numPatches)
            var attGrads = [[Float]](repeating: [], count: c.depth)
            model.backward(acts, scratch: scratch, grads: grads, dlogits: dlogits, batch: 2, workers: workers, scores: &scores) { l, dA in
                attGrads[l] = Array(UnsafeBufferPointer(start: dA, count: 2 * c.heads * c.tokens * c.tokens))
            }
            for item in model.table.items {
                let ours = grads.arena.array(offset: item.offset, count: item.count)
                assertClose(ours, try ref.floats("grad.\(item.name)"), "grad.\(item.name) (workers \(workers), packed \(packed))")
            }
            for l in 0..<c.depth {
                assertClose(attGrads[l], try ref.floats("attn_grad.\(l)"), "attn_grad.\(l)")
                let s = Array(scores[(l * c.numPatches)..<((l + 1) * c.numPatches)]).map { abs($0) }
                assertClose(s, try ref.floats("score.\(l)"), "score.\(l)")
            }
        }
    }
}
