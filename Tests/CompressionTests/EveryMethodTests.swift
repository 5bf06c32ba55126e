import XCTest
@testable import Compression
import Engine

/// Every method in `MethodRegistry` through the same checks, knowing nothing of any of them: a
/// new method is tested by registering it. Each is set to about 70 % of the dense FLOPs on a tiny
/// random model (dense has nothing to set and runs as it is), then:
/// - the tokens each block's output holds, counted from the patch states the pass reports, are
///   the model's `tokenCounts`;
/// - its FLOPs are the count from those token counts (attention at the block's input tokens, MLP
///   at its output tokens) plus a small, non-negative share for the method's own work, and the
///   official count is `OfficialFlops` at the same token counts;
/// - every block's restored grid has a finite row for every token, and the last one is what
///   `forwardGrid` hands the probe;
/// - when a block reports states, it reports one per patch.
final class EveryMethodTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// Patch ranks for Prune and Merge's plans: the same random scores every run.
    func ranks(_ c: ViTConfig) -> [[Double]] {
        var rng = SplitMix64(seed: 11)
        return (0..<c.depth).map { _ in (0..<c.numPatches).map { _ in Double(rng.nextUniform()) } }
    }

    func models() throws -> [(id: String, model: any CompressedModel)] {
        let dense = try tinyModel(seed: 5, depth: 4)
        let budget = 0.7 * dense.config.flopsPerImage
        return try MethodRegistry.all.map { method in
            let matched = try method.matching(flops: budget, dense: dense, ranks: ranks(dense.config))
            return (method.id, matched?.model ?? DenseModel(dense))
        }
    }

    func testTheRegistryHasOneEntryPerId() {
        XCTAssertEqual(Set(MethodRegistry.ids).count, MethodRegistry.all.count)
        XCTAssertGreaterThanOrEqual(MethodRegistry.all.count, 4)
        for id in MethodRegistry.ids { XCTAssertEqual(MethodRegistry.method(id: id)?.id, id) }
        XCTAssertNil(MethodRegistry.method(id: "no-such-method"))
    }

    func testOnlyDenseHasNothingToMatchABudgetWith() throws {
        let dense = try tinyModel(seed: 5, depth: 4)
        for method in MethodRegistry.all {
            let matched = try method.matching(flops: 0.7 * dense.config.flopsPerImage, dense: dense, ranks: ranks(dense.config))
            XCTAssertEqual(matched == nil, method.id == Dense.id, method.id)
            if let matched {
                XCTAssertTrue(matched.name.hasPrefix(method.id + "-"), matched.name)
                XCTAssertLessThan(matched.model.flopsPerImage, dense.config.flopsPerImage, "\(method.id) compresses at 70 %")
            }
        }
    }

    func testTokenCountsAreTheTokensThePassLeaves() throws {
        for (id, m) in try models() {
            let c = m.dense.config
            let images = randomImages(2, c, seed: 3)
            let pass = m.makePass(batch: 2, recordLayouts: true)
            var blocksSeen = 0
            images.withUnsafeBufferPointer { x in
                pass.forward(images: x.baseAddress!, batch: 2, workers: 1) { _, _ in blocksSeen += 1 }
            }
            XCTAssertEqual(blocksSeen, c.depth, id)
            XCTAssertEqual(m.tokenCounts.count, c.depth, id)
            for l in 0..<c.depth {
                for i in 0..<2 {
                    guard let states = pass.patchStates(layer: l, image: i) else {
                        XCTAssertEqual(m.tokenCounts[l].mlp, c.tokens, "\(id) block \(l) reports no states: it must keep every token")
                        continue
                    }
                    XCTAssertEqual(states.count, c.numPatches, "\(id) block \(l)")
                    // A token per group and per patch kept alone, plus CLS; fused (dropped) patches
                    // sit in one token per reduction at most (a fused token kept by a later block
                    // stays beside the next one), at least one.
                    let groups = Set(states.compactMap(\.group)).count
                    let alone = states.filter { $0 == .kept }.count
                    let fusedTokens = m.tokenCounts[l].mlp - (c.prefixTokens + groups + alone)
                    let reductions = m.tokenCounts[0...l].filter { $0.mlp < $0.attention }.count
                    let range = states.contains(.dropped) ? 1...max(1, reductions) : 0...0
                    XCTAssertTrue(range.contains(fusedTokens), "\(id) block \(l) image \(i): \(fusedTokens) tokens unaccounted for")
                }
                if l > 0 && !m.restoresGrid { XCTAssertEqual(m.tokenCounts[l].attention, m.tokenCounts[l - 1].mlp, "\(id): block \(l) gets what \(l - 1) left") }
            }
        }
    }

    func testFlopsAreTheCountFromTheTokenCounts() throws {
        for (id, m) in try models() {
            let c = m.dense.config
            let fromCounts = m.tokenCounts.map { c.attentionFlops(tokens: $0.attention) + c.mlpFlops(tokens: $0.mlp) }
            XCTAssertEqual(m.blockFlops.count, c.depth, id)
            for l in 0..<c.depth {
                let own = m.blockFlops[l] - fromCounts[l]
                XCTAssertGreaterThanOrEqual(own, 0, "\(id) block \(l): the method's own work is not negative")
                XCTAssertLessThan(own, fromCounts[l], "\(id) block \(l): the method's own work is less than the block's")
            }
            let total = m.blockFlops.reduce(c.embedAndHeadFlops, +)
            XCTAssertEqual(m.flopsPerImage, total, accuracy: 1e-9 * total, id)
            XCTAssertEqual(m.officialFlops, OfficialFlops.model(c, tokens: m.tokenCounts), accuracy: 1e-9 * total, id)
        }
    }

    func testRestoredGridHasEveryTokenAndIsWhatTheProbeReads() throws {
        for (id, m) in try models() {
            let c = m.dense.config, n = c.tokens, d = c.dim
            let images = randomImages(2, c, seed: 4)
            let pass = m.makePass(batch: 2, recordLayouts: false)
            var last: [Float] = []
            images.withUnsafeBufferPointer { x in
                pass.forward(images: x.baseAddress!, batch: 2, workers: 1) { l, grid in
                    let rows = Array(UnsafeBufferPointer(start: grid, count: 2 * n * d))
                    for t in 0..<(2 * n) {
                        let row = rows[(t * d)..<((t + 1) * d)]
                        XCTAssertTrue(row.allSatisfy(\.isFinite) && row.contains { $0 != 0 }, "\(id) block \(l): grid row \(t) is empty")
                    }
                    if l == c.depth - 1 { last = rows }
                }
            }
            let probeGrid = images.withUnsafeBufferPointer { x in
                Array(UnsafeBufferPointer(start: pass.forwardGrid(images: x.baseAddress!, batch: 2, workers: 1), count: 2 * n * d))
            }
            XCTAssertEqual(probeGrid, last, id)
        }
    }
}
