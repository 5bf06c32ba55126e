import Foundation
import XCTest
@testable import Compression
@testable import Engine

extension NaiveViT {
    /// The reference with its parameters replaced (a finite-difference step on one of them).
    init(config: ViTConfig, parameters: [String: [Double]]) {
        c = config
        p = parameters
    }
}

/// Backward through ToMe's merging and EViT's keep-and-fuse (`ReducedNetwork`): every checked
/// parameter's gradient against central finite differences of the loss computed in Double by the
/// naive references (`NaiveToMe`, `NaiveEViT`, which share no code with the engine). The methods'
/// choices are not differentiated; a step that changes a choice (which tokens merge, which are
/// kept) makes the loss jump there, so such coordinates are skipped, and the test asserts that few
/// are.
final class ReducedNetworkTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func testToMeGradientsMatchFiniteDifferences() throws {
        let model = try tinyModel(seed: 21)
        let tome = try ToMeModel(dense: model, r: 3)  // 17 -> 14 -> 11 -> 8 tokens, proportional attention
        try checkGradients(model: model, network: tome.trainingNetwork(batch: 2, workers: 2)) { v, img in
            NaiveToMe.forward(v, image: img, r: [3, 3, 3], proportional: true)
        }
    }

    func testDistilledToMeGradientsMatchFiniteDifferences() throws {
        let model = try tinyModel(seed: 22, distilled: true)
        let tome = try ToMeModel(dense: model, r: [4, 2, 2], proportionalAttention: false)
        try checkGradients(model: model, network: tome.trainingNetwork(batch: 2, workers: 1)) { v, img in
            NaiveToMe.forward(v, image: img, r: [4, 2, 2], proportional: false)
        }
    }

    func testEViTGradientsMatchFiniteDifferences() throws {
        let model = try tinyModel(seed: 23)
        // Two reducing blocks: the second fuses a token that already holds the first's fused ones.
        let evit = try EViTModel(dense: model, keepRate: 0.5, blocks: [0, 1])
        XCTAssertEqual(evit.tokenCounts.map(\.mlp), [10, 7, 7])  // 16 candidates keep 8 (+ fused), then 9 keep 5
        try checkGradients(model: model, network: evit.trainingNetwork(batch: 2, workers: 2)) { v, img in
            NaiveEViT.forward(v, image: img, keepRate: 0.5, blocks: [0, 1])
        }
    }

    func checkGradients(model: ViTModel, network: TrainableNetwork,
                        reference: (NaiveViT, [Float]) -> (logits: [Double], layers: [NaiveTokens]),
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let c = model.config, b = 2, k = c.numClasses
        let images = randomImages(b, c, seed: 5)
        let labels = [1, 3]
        let base = NaiveViT(model)
        func loss(_ v: NaiveViT) -> (Double, [[Set<Int>]]) {
            var total = 0.0, choices: [[Set<Int>]] = []
            for i in 0..<b {
                let r = reference(v, image(i, of: images, c))
                let m = r.logits.max() ?? 0
                total += m + Foundation.log(r.logits.map { Foundation.exp($0 - m) }.reduce(0, +)) - r.logits[labels[i]]
                for layer in r.layers { choices.append(layer.source) }
            }
            return (total / Double(b), choices)
        }
        // Analytic: d mean cross-entropy / d logits = (softmax - one-hot) / b.
        let z = images.withUnsafeBufferPointer { network.trainForward(images: $0.baseAddress!, batch: b, workers: 2) }
        var dl = [Float](repeating: 0, count: b * k)
        for i in 0..<b {
            let row = (0..<k).map { Double(z[i * k + $0]) }
            let reference = reference(base, image(i, of: images, c)).logits
            XCTAssertLessThan(zip(row, reference).map { abs($0 - $1) }.max() ?? 1, 1e-4, "the forward pass agrees with the reference", file: file, line: line)
            let m = row.max() ?? 0, e = row.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
            for j in 0..<k { dl[i * k + j] = Float((e[j] / s - (j == labels[i] ? 1 : 0)) / Double(b)) }
        }
        network.zeroGradients()
        network.trainBackward(dlogits: dl, batch: b, workers: 2)
        let (_, choices) = loss(base)
        var checked = 0, skipped = 0
        let names = ["pos_embed", "cls_token", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "blocks.0.norm1.weight",
                     "blocks.1.attn.qkv.weight", "blocks.1.attn.proj.bias", "blocks.1.mlp.fc1.weight", "blocks.2.attn.qkv.weight",
                     "blocks.2.mlp.fc2.weight", "norm.weight", "head.bias"] + (c.distilled ? ["dist_token"] : [])
        for t in network.trainable where names.contains(t.name) {
            var rng = SplitMix64(seed: UInt64(t.count))
            // pos_embed whole: its rows reach merged, kept and fused tokens alike.
            let picks = t.name == "pos_embed" || t.count <= 16 ? Array(0..<t.count) : (0..<12).map { _ in Int(rng.next() % UInt64(t.count)) }
            var pairs: [(Int, Double, Double)] = []
            for e in Set(picks).sorted() {
                let h = 1e-5
                var up = base.p, down = base.p
                up[t.name]![e] += h
                down[t.name]![e] -= h
                let (fp, cp) = loss(NaiveViT(config: c, parameters: up)), (fm, cm) = loss(NaiveViT(config: c, parameters: down))
                guard cp == choices, cm == choices else { skipped += 1; continue }
                pairs.append((e, Double(t.grad[e]), (fp - fm) / (2 * h)))
            }
            let scale = max(pairs.map { abs($0.2) }.max() ?? 0, 1e-6)
            for (e, analytic, numeric) in pairs {
                XCTAssertEqual(analytic, numeric, accuracy: 2e-3 * scale + 2e-3 * abs(numeric), "\(t.name)[\(e)] (scale \(scale))", file: file, line: line)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 200, file: file, line: line)
        XCTAssertLessThan(skipped, checked / 20 + 1, "steps that changed a choice", file: file, line: line)
    }
}
