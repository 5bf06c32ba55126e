import Foundation
import XCTest
@testable import Compression
@testable import Engine

/// Backward through Prune and Merge blocks (merge and recover gradients, and the dense parameters
/// under them) against central finite differences of the compressed forward pass, and fine-tuning
/// with distillation lowering the loss.
final class PMNetworkTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func tinyPM(seed: UInt64, recovery: PMRecovery = .official) throws -> PMModel {
        let cfg = ViTConfig(imageSize: 8, patchSize: 2, channels: 1, dim: 8, depth: 3, heads: 2, numClasses: 3)
        let dense = try ViTModel(config: cfg)
        var rng = SplitMix64(seed: seed)
        for i in 0..<dense.table.count { dense.params.base[i] = (rng.nextUniform() * 2 - 1) * 0.5 }
        let ranks = (0..<3).map { _ in (0..<16).map { _ in Double(rng.nextUniform()) } }
        let plan = try PMPlanner.plan(ranks: ranks, config: cfg, options: .init(keep: 0.5, prune: 0.2, blocks: [0, 1], grouping: .grid))
        return try PMModel(dense: dense, blocks: plan, recovery: recovery)
    }

    func testGradientsMatchFiniteDifferences() throws { try checkGradients(recovery: .official) }
    func testUpdateRecoveryGradientsMatchFiniteDifferences() throws { try checkGradients(recovery: .update) }

    func checkGradients(recovery: PMRecovery) throws {
        let pm = try tinyPM(seed: 9, recovery: recovery)
        let b = 2
        // Tokens pass through the compressed blocks (not the last block, where only CLS gets a gradient).
        XCTAssertTrue(pm.blocks[0]!.tokenMask.contains(0) && pm.blocks[1]!.tokenMask.contains(0))
        let net = PMNetwork(model: pm, batch: b, workers: 2, matricesOnly: false)
        var rng = SplitMix64(seed: 4)
        let images = (0..<(b * 64)).map { _ in rng.nextNormal() }
        let labels: [Int32] = [0, 2]
        func loss() -> Double {
            let z = images.withUnsafeBufferPointer { net.trainForward(images: $0.baseAddress!, batch: b, workers: 2) }
            var total = 0.0
            for i in 0..<b {
                let row = (0..<3).map { Double(z[i * 3 + $0]) }
                let m = row.max()!
                total += m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) - row[Int(labels[i])]
            }
            return total / Double(b)
        }
        _ = loss()
        let z = UnsafePointer(net.forwardPass.acts.logits)
        var probs = [Float](repeating: 0, count: b * 3), dl = probs
        CrossEntropy.forward(probs: &probs, logits: z, labels: labels, batch: b, classes: 3, smoothing: 0)
        CrossEntropy.backward(dlogits: &dl, probs: probs, labels: labels, batch: b, classes: 3, smoothing: 0, scale: 0.5)
        net.zeroGradients()
        net.trainBackward(dlogits: dl, batch: b, workers: 2)
        var checked = 0
        for t in net.trainable where t.name.contains("matrix") || t.name.contains("blocks.1.mlp.fc1.weight") ||
            t.name.contains("blocks.0.attn.qkv.weight") || t.name == "pos_embed" || t.name == "patch_embed.proj.weight" {
            // pos_embed fully: its rows see pruned and unassigned tokens pass through compressed blocks.
            var picks = t.name == "pos_embed" ? Array(0..<t.count) : [0, t.count / 3, t.count - 1]
            // Prefer nonzero weights (plan matrices are sparse; zero entries still get gradients).
            if let nz = (0..<t.count).first(where: { t.param[$0] != 0 && $0 > 0 }) { picks.append(nz) }
            var pairs: [(Int, Double, Double)] = []
            for e in Set(picks).sorted() {
                let v = t.param[e]
                let up = v + 1e-2, down = v - 1e-2
                t.param[e] = up; let fp = loss()
                t.param[e] = down; let fm = loss()
                t.param[e] = v
                pairs.append((e, Double(t.grad[e]), (fp - fm) / Double(up - down)))
            }
            // Tolerance relative to the tensor's largest gradient (Float forward, step 1e-2).
            let scale = max(pairs.map { abs($0.2) }.max() ?? 0, 1e-6)
            for (e, analytic, numeric) in pairs {
                XCTAssertEqual(analytic, numeric, accuracy: 0.02 * scale + 0.02 * abs(numeric), "\(t.name)[\(e)] (scale \(scale))")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
    }

    func testFineTuningWithDistillationLowersTheLoss() throws {
        let pm = try tinyPM(seed: 3)
        // Teacher: the dense model itself; data: 64 random 8x8 images with labels 0-2.
        var rng = SplitMix64(seed: 8)
        let pixels = (0..<(64 * 64)).map { _ in UInt8(rng.next() % 256) }
        let labels = (0..<64).map { UInt8($0 % 3) }
        let data = BatchMaker(dataset: try IDXDataset(rows: 8, cols: 8, images: pixels, labels: labels), mean: 0.5, std: 0.3)
        let teacherActs = Activations(config: pm.dense.config, batch: 16, keepAllLayers: false)
        let teacherModel = try ViTModel(config: pm.dense.config)
        teacherModel.params.base.update(from: pm.dense.params.base, count: pm.dense.table.count)
        var s = TrainSettings(epochs: 8)
        s.batchSize = 16; s.warmupSteps = 2; s.peakLR = 3e-3; s.padding = 0; s.flip = false; s.labelSmoothing = 0
        let net = PMNetwork(model: pm, batch: 16, workers: 2, matricesOnly: true)
        let before = net.forwardPass.matrices.array()
        let trainer = Trainer(network: net, data: data, settings: s, workers: 2, teacher: { x, b in
            teacherModel.forward(teacherActs, images: x, batch: b, workers: 2)
            return UnsafePointer(teacherActs.logits)
        })
        var losses: [Double] = []
        while !trainer.isFinished { losses.append(trainer.step().loss) }
        XCTAssertLessThan(losses.suffix(4).reduce(0, +), losses.prefix(4).reduce(0, +))
        // Only the matrices moved.
        XCTAssertNotEqual(net.forwardPass.matrices.array(), before)
        XCTAssertEqual(pm.dense.params.array(), teacherModel.params.array())
    }
}
