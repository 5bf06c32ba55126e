import Foundation
import XCTest
@testable import Engine

/// The trainer: learning happens, and a run stopped at a checkpoint and resumed makes exactly the
/// updates an uninterrupted run makes (bit for bit).
final class TrainerTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// 64 tiny 8x8 images whose class is the brighter half (top or bottom; flips keep it): learnable in a few steps.
    func toyData() throws -> BatchMaker {
        var rng = TestRandom(seed: 11)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<64 {
            let label = i % 2
            for y in 0..<8 { for _ in 0..<8 {
                let bright = (y < 4) == (label == 0)
                pixels.append(UInt8(bright ? 150 + Int(rng.next() % 100) : Int(rng.next() % 60)))
            } }
            labels.append(UInt8(label))
        }
        return BatchMaker(dataset: try IDXDataset(rows: 8, cols: 8, images: pixels, labels: labels), mean: 0.4, std: 0.3)
    }

    func makeTrainer(_ data: BatchMaker, epochs: Int = 3, lr: Float = 3e-3) throws -> Trainer {
        let cfg = ViTConfig(imageSize: 8, patchSize: 2, channels: 1, dim: 16, depth: 2, heads: 2, numClasses: 2)
        let model = try ViTModel(config: cfg)
        model.initializeForTraining(seed: 3)
        var s = TrainSettings(epochs: epochs)
        s.batchSize = 16; s.warmupSteps = 2; s.peakLR = lr; s.seed = 5
        return Trainer(model: model, data: data, settings: s, workers: 2)
    }

    func testResumeIsExact() throws {
        let data = try toyData()
        let straight = try makeTrainer(data)
        for _ in 0..<7 { _ = straight.step() }

        let first = try makeTrainer(data)
        for _ in 0..<3 { _ = first.step() }
        let path = NSTemporaryDirectory() + "tokenscope-resume-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.saveCheckpoint(to: path)
        let resumed = try Trainer.resume(from: path, data: data, workers: 2)
        XCTAssertEqual(resumed.state, first.state)
        XCTAssertEqual(resumed.settings, first.settings)
        for _ in 0..<4 { _ = resumed.step() }

        XCTAssertEqual(resumed.state, straight.state)
        XCTAssertEqual(resumed.model.params.array(), straight.model.params.array(), "parameters after resume")
        XCTAssertEqual(resumed.optimizers.map { $0.m.array() }, straight.optimizers.map { $0.m.array() })
        XCTAssertEqual(resumed.optimizers.map(\.step), straight.optimizers.map(\.step))
    }

    /// A model packed for inference trains on its live parameters: the trainer unpacks it, and a run
    /// from a packed model makes exactly the updates a run from the plain one makes.
    func testTrainingAPackedModelUsesItsLiveWeights() throws {
        let data = try toyData()
        let plain = try makeTrainer(data)
        let packed = try makeTrainer(data)
        packed.model.packWeights()
        XCTAssertNotNil(packed.model.packedBlocks)
        for _ in 0..<3 { _ = plain.step(); _ = packed.step() }
        XCTAssertNil(packed.model.packedBlocks)
        XCTAssertEqual(packed.model.params.array(), plain.model.params.array())
    }

    func testLossFallsOnALearnableTask() throws {
        let t = try makeTrainer(try toyData(), epochs: 15, lr: 1e-2)
        var losses: [Double] = []
        while !t.isFinished { losses.append(t.step().loss) }
        XCTAssertEqual(losses.count, 60)  // 4 steps per epoch
        XCTAssertLessThan(losses.suffix(8).reduce(0, +) / 8, 0.45, "\(losses)")
    }

    func testResumeRejectsAPlainModel() throws {
        assertThrowsMessage(try Trainer.resume(from: Fixtures.path("vit-s8.safetensors"), data: try toyData()),
                            contains: ["not a TokenScope training checkpoint"])
    }
}
