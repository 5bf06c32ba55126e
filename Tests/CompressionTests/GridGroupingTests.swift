import XCTest
@testable import Compression
import Engine

/// Grid grouping on hand-made score maps: groups never cross a grid row, every kept token belongs to
/// exactly one group (or is reported unassigned), recover is the pseudo-inverse of merge.
final class GridGroupingTests: XCTestCase {
    /// A 4x4 grid, prefix 1. Centers at patches 1 and 2 (row 0), 9 (row 2); row 1 and 3 have none.
    func block(_ grouping: PMPlanner.Grouping) -> PMBlock {
        var score = [Float](repeating: 0.2, count: 16)
        score[1] = 0.9; score[2] = 0.8; score[9] = 0.7
        score[0] = 0.5; score[13] = 0.1
        var mask = [Bool](repeating: true, count: 16)
        mask[6] = false; mask[15] = false
        let masked = zip(score, mask).map { $1 ? $0 : 0 }
        return PMPlanner.makeBlock(block: 0, score: masked, mask: mask, centers: [1, 2, 9], grid: 4, prefix: 1, grouping: grouping)
    }

    func group(_ s: PatchState) -> Int? {
        switch s {
        case .center(let g), .merged(let g, _): return g
        default: return nil
        }
    }

    func testGroupsStayInTheirRow() {
        let b = block(.grid)
        guard let layout = b.layout else { return XCTFail("no layout") }
        XCTAssertEqual(layout.centers, [1, 2, 9])
        for j in 0..<16 {
            if let g = group(layout.states[j]) { XCTAssertEqual(j / 4, layout.centers[g] / 4, "patch \(j) in group \(g)") }
        }
        // Row 0: 0,1 -> center 1 (split at ceil(1.5) = 2), 2,3 -> center 2. Row 2: all four -> center 9.
        XCTAssertEqual((0..<4).map { group(layout.states[$0]) }, [0, 0, 1, 1])
        XCTAssertEqual((8..<12).map { group(layout.states[$0]) }, [2, 2, 2, 2])
        // Rows 1 and 3 have no center: kept tokens there pass through; pruned stay pruned.
        XCTAssertEqual(layout.states[4], .unassigned)
        XCTAssertEqual(layout.states[6], .pruned)
        XCTAssertEqual(layout.states[15], .pruned)
        XCTAssertEqual(b.tokenMask[1 + 4], 0, "unassigned tokens skip the block")
        XCTAssertEqual(layout.states[1], .center(group: 0))
    }

    func testEveryKeptTokenInExactlyOneGroupAndPinv() {
        for grouping in PMPlanner.Grouping.allCases {
            let b = block(grouping)
            let n = b.tokens, c = b.channels
            XCTAssertEqual(c, 4)
            for t in 0..<n {
                let rows = (0..<c).filter { b.merge[$0 * n + t] != 0 }
                XCTAssertEqual(rows.count, b.tokenMask[t] == 1 ? 1 : 0, "\(grouping) token \(t)")
            }
            // M R = I (C x C), and R M is a projection: (RM)^2 = RM.
            for i in 0..<c { for j in 0..<c {
                var s: Float = 0
                for t in 0..<n { s += b.merge[i * n + t] * b.recover[t * c + j] }
                XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-5)
            } }
        }
        // Official grouping crosses rows: patch 4 (row 1) joins a row-0 center... or 9's group.
        let o = block(.official).layout!
        XCTAssertNotNil(group(o.states[4]))
    }

    func testBlockWithoutCentersKeepsWorking() {
        let b = PMPlanner.makeBlock(block: 3, score: [Float](repeating: 0.3, count: 16), mask: [Bool](repeating: true, count: 16),
                                    centers: [], grid: 4, prefix: 1, grouping: .official)
        XCTAssertEqual(b.channels, 1)
        XCTAssertEqual(b.tokenMask, [1] + [Float](repeating: 0, count: 16))
        XCTAssertTrue(b.layout!.states.allSatisfy { $0 == .unassigned })
    }

    func testBadOptionsAreRefused() {
        let c = ViTConfig(imageSize: 16, patchSize: 4, channels: 1, dim: 8, depth: 2, heads: 2, numClasses: 3)
        let ranks = [[Double]](repeating: (0..<16).map(Double.init), count: 2)
        for (k, p) in [(0.0, 0.1), (1.0, 0.0), (0.7, 0.4), (0.5, -0.1)] {
            XCTAssertThrowsError(try PMPlanner.plan(ranks: ranks, config: c, options: .init(keep: k, prune: p, blocks: [0, 1])))
        }
        XCTAssertThrowsError(try PMPlanner.plan(ranks: ranks, config: c, options: .init(keep: 0.5, prune: 0.1, blocks: [2])))
        XCTAssertThrowsError(try PMPlanner.plan(ranks: [[1]], config: c, options: .init(keep: 0.5, prune: 0.1, blocks: [0])))
    }
}
