import Foundation
import XCTest
@testable import Compression
import Engine

/// The plan against the official code (pm-p8 fixture: keep 0.6, prune 0.1, all four blocks, official
/// grouping), and the grid grouping on hand-made score maps.
final class PMPlannerTests: XCTestCase {
    let dir = GradientScoresTests.fixtures

    func testOfficialPlanReproducesOfficialMatrices() throws {
        let dense = try ViTModel(path: dir.appendingPathComponent("pm-p8.dense.safetensors").path)
        let ref = try SafeTensorsFile(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path)
        let pm = try SafeTensorsFile(path: dir.appendingPathComponent("pm-p8.safetensors").path)
        let ranks = try (0..<4).map { try ref.floats("seq_ranks.\($0)").map(Double.init) }
        var o = PMPlanner.Options(keep: 0.6, prune: 0.1, blocks: [0, 1, 2, 3], grouping: .official)
        o.keepPerBlock = nil
        let plan = try PMPlanner.plan(ranks: ranks, config: dense.config, options: o)
        XCTAssertEqual(plan.map(\.channels), try ref.floats("channels").map { Int($0) })
        for b in plan {
            let i = b.block
            XCTAssertEqual(b.tokenMask, try pm.floats("blocks.\(i).attn.token_mask"), "token_mask \(i)")
            let m = try pm.floats("blocks.\(i).attn.merge_matrix")
            XCTAssertEqual(m.count, b.merge.count)
            XCTAssertLessThanOrEqual(zip(m, b.merge).map { abs($0 - $1) }.max() ?? 1, 1e-6, "merge_matrix \(i)")
            let r = try pm.floats("blocks.\(i).attn.recover_matrix")
            XCTAssertLessThanOrEqual(zip(r, b.recover).map { abs($0 - $1) }.max() ?? 1, 1e-4, "recover_matrix \(i)")
            let bias = try pm.floats("blocks.\(i).attn.bias")
            XCTAssertLessThanOrEqual(zip(bias, b.bias).map { abs($0 - $1) }.max() ?? 1, 1e-5, "bias \(i)")
        }
    }
}
