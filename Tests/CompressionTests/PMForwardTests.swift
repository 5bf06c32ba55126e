import Foundation
import XCTest
@testable import Compression
import Engine

/// The compressed forward pass against the official code's logits (pm-p8), and the properties the
/// method promises: pruned tokens come back bit-identical, the output is always the full grid.
final class PMForwardTests: XCTestCase {
    let dir = GradientScoresTests.fixtures
    override class func setUp() { BLAS.configure() }

    func testOfficialCheckpointGivesOfficialLogits() throws {
        let pm = try PMModel(path: dir.appendingPathComponent("pm-p8.safetensors").path)
        XCTAssertEqual(pm.channels, [45, 38, 39, 34])
        let ref = try SafeTensorsFile(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path)
        let input = try ref.floats("input")
        for workers in [1, 2] {
            for keepAll in [false, true] {
                let f = PMForward(model: pm, batch: 2, keepAllLayers: keepAll)
                input.withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 2, workers: workers) }
                let got = f.logits(batch: 2), want = try ref.floats("pm_logits")
                XCTAssertLessThanOrEqual(zip(got, want).map { abs($0 - $1) }.max() ?? 1, 1e-4, "workers \(workers) keepAll \(keepAll)")
            }
        }
        // The layout is recovered from the plan-shaped matrices.
        XCTAssertNotNil(pm.blocks[0]?.layout)
    }

    func testPlannedModelMatchesTheOfficialCheckpoint() throws {
        let dense = try ViTModel(path: dir.appendingPathComponent("pm-p8.dense.safetensors").path)
        let ref = try SafeTensorsFile(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path)
        let ranks = try (0..<4).map { try ref.floats("seq_ranks.\($0)").map(Double.init) }
        let plan = try PMPlanner.plan(ranks: ranks, config: dense.config,
                                      options: .init(keep: 0.6, prune: 0.1, blocks: [0, 1, 2, 3], grouping: .official))
        let pm = try PMModel(dense: dense, blocks: plan)
        let f = PMForward(model: pm, batch: 2)
        try ref.floats("input").withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 2) }
        XCTAssertLessThanOrEqual(zip(f.logits(batch: 2), try ref.floats("pm_logits")).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        // Save and load round trip keeps the model.
        let path = NSTemporaryDirectory() + "tokenscope-pm-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try pm.save(to: path, metadata: ["keep": "0.6"])
        let back = try PMModel(path: path)
        XCTAssertEqual(back.channels, pm.channels)
        XCTAssertEqual(back.blocks[2]?.merge, pm.blocks[2]?.merge)
        XCTAssertEqual(back.blocks[2]?.layout, pm.blocks[2]?.layout)
    }

    func testPrunedTokensComeBackBitIdentical() throws {
        let dense = try ViTModel(path: dir.appendingPathComponent("pm-p8.dense.safetensors").path)
        let ref = try SafeTensorsFile(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path)
        let ranks = try (0..<4).map { try ref.floats("seq_ranks.\($0)").map(Double.init) }
        for grouping in PMPlanner.Grouping.allCases { for recovery in PMRecovery.allCases {
            let plan = try PMPlanner.plan(ranks: ranks, config: dense.config,
                                          options: .init(keep: 0.5, prune: 0.2, blocks: [1, 2], grouping: grouping))
            let pm = try PMModel(dense: dense, blocks: plan, recovery: recovery)
            let f = PMForward(model: pm, batch: 1, keepAllLayers: true)
            var outputs: [[Float]] = []
            let n = 65 * 64
            try ref.floats("input").withUnsafeBufferPointer { buf in
                f.forward(images: buf.baseAddress!, batch: 1) { _, out in outputs.append(Array(UnsafeBufferPointer(start: out, count: n))) }
            }
            XCTAssertEqual(outputs.count, 4)
            for b in plan {
                let before = outputs[b.block - 1], after = outputs[b.block]
                var skipped = 0
                for t in 0..<65 where b.tokenMask[t] == 0 {
                    XCTAssertEqual(Array(after[(t * 64)..<((t + 1) * 64)]), Array(before[(t * 64)..<((t + 1) * 64)]), "\(grouping) \(recovery) block \(b.block) token \(t)")
                    skipped += 1
                }
                XCTAssertGreaterThan(skipped, 0)
            }
        } }
    }
}
