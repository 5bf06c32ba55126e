import Foundation
import XCTest
@testable import Compression
import Engine

/// A fine-tuned Prune and Merge file keeps the groups it was planned with: its matrices are dense
/// after training, so the groups come from the plan recorded in the file's metadata.
final class PMPlanLayoutTests: XCTestCase {
    func testPlannedGroupsSurviveFineTuningAndAFileRoundTrip() throws {
        let cfg = ViTConfig(imageSize: 8, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, numClasses: 3)
        let m = try ViTModel(config: cfg)
        m.initializeForTraining(seed: 1)
        var rng = SplitMix64(seed: 2)
        let ranks = (0..<2).map { _ in (0..<16).map { _ in Double(rng.nextUniform()) } }
        let plan = try PMPlanner.plan(ranks: ranks, config: cfg, options: .init(keep: 0.5, prune: 0.2, blocks: [0, 1], grouping: .grid))
        let pm = try PMModel(dense: m, blocks: plan)
        let planned = try XCTUnwrap(pm.blocks[0]?.layout)
        // "Fine-tuning": every weight moves, so no column has a single nonzero weight any more.
        let b0 = try XCTUnwrap(pm.blocks[0])
        pm.setMatrices(block: 0, merge: b0.merge.map { $0 + 0.01 }, recover: b0.recover)
        XCTAssertNil(PMModel.inferLayout(try XCTUnwrap(pm.blocks[0]), cfg), "the matrix no longer reads as a plan")
        let kept = try XCTUnwrap(pm.blocks[0]?.layout)
        XCTAssertEqual(kept.centers, planned.centers)
        XCTAssertEqual(kept.states.map(\.group), planned.states.map(\.group))
        for (j, st) in kept.states.enumerated() {
            if case .merged(let g, let w) = st {
                XCTAssertEqual(w, b0.merge[(1 + g) * 17 + 1 + j] + 0.01, accuracy: 1e-6, "weight read from the new matrix")
            }
        }
        let path = NSTemporaryDirectory() + "pm-layout-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try pm.save(to: path, metadata: [:])
        let back = try PMModel(path: path)
        XCTAssertEqual(back.blocks[0]?.layout, kept, "from the file's plan_layout")
        XCTAssertEqual(back.blocks[1]?.layout, pm.blocks[1]?.layout, "an untouched block still reads as a plan")
    }

    func testBadPlanLayoutMetadataIsIgnored() {
        XCTAssertTrue(PMModel.plannedLayouts("not json", patches: 16).isEmpty)
        XCTAssertTrue(PMModel.plannedLayouts(#"[{"block":0,"group":[0,1],"centers":[0]}]"#, patches: 16).isEmpty, "wrong length")
        XCTAssertTrue(PMModel.plannedLayouts(#"[{"block":0,"group":[5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"centers":[0]}]"#, patches: 16).isEmpty,
                      "group id without a center")
        XCTAssertEqual(PMModel.plannedLayouts(#"[{"block":1,"group":[0,0,-1,-2,0,0,0,0,0,0,0,0,0,0,0,0],"centers":[1]}]"#, patches: 16).keys.sorted(), [1])
    }
}
