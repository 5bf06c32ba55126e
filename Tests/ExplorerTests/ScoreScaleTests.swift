import XCTest
@testable import Explorer

/// The score view's scale: percentiles within the layer, computed by hand.
final class ScoreScaleTests: XCTestCase {
    func testPercentilesByHand() {
        XCTAssertEqual(ScoreScale.percentiles([3, 1, 2, 2]), [1, 0, 1.0 / 3, 1.0 / 3], "ties share the lower rank")
        XCTAssertEqual(ScoreScale.percentiles([5]), [1])
        XCTAssertEqual(ScoreScale.percentiles([]), [])
        XCTAssertEqual(ScoreScale.percentiles([.nan, 0, 1]), [0, 0.5, 1], "a non-finite score counts as the lowest")
    }

    /// One outlier a hundred times the rest no longer flattens them all to 0.
    func testHeavyTailKeepsTheRestApart() {
        let scores: [Float] = [1000] + (1...10).map(Float.init)
        let p = ScoreScale.percentiles(scores)
        XCTAssertEqual(p[0], 1)
        XCTAssertEqual(p[1], 0)
        XCTAssertEqual(p[10], 0.9, accuracy: 1e-12)
        XCTAssertEqual(Set(p[1...].map { Int($0 * 10) }).count, 10, "ten distinct digits below the outlier")
    }
}
