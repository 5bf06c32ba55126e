import XCTest
@testable import Engine

/// McNemar's exact test and the paired interval against values worked out by hand from the
/// binomial distribution and the paired-proportion formula.
final class PairedComparisonTests: XCTestCase {
    func pair(onlyA: Int, onlyB: Int, both: Int, neither: Int) -> PairedComparison {
        let a = [Bool](repeating: true, count: onlyA) + [Bool](repeating: false, count: onlyB) + [Bool](repeating: true, count: both) + [Bool](repeating: false, count: neither)
        let b = [Bool](repeating: false, count: onlyA) + [Bool](repeating: true, count: onlyB) + [Bool](repeating: true, count: both) + [Bool](repeating: false, count: neither)
        return PairedComparison(a, b)
    }

    func testExactPValueIsTwiceTheBinomialTail() {
        // 10 vs 2 disagreements: 2 (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158 / 4096.
        let p = pair(onlyA: 10, onlyB: 2, both: 80, neither: 8)
        XCTAssertEqual(p.pValue, 158.0 / 4096, accuracy: 1e-12)
        XCTAssertTrue(p.significant)
        // 3 vs 2: 2 (1 + 5 + 10) / 32 = 1 (capped).
        XCTAssertEqual(pair(onlyA: 3, onlyB: 2, both: 5, neither: 0).pValue, 1, accuracy: 1e-12)
        // 6 vs 1: 2 (1 + 7) / 128 = 0.125.
        XCTAssertEqual(pair(onlyA: 6, onlyB: 1, both: 0, neither: 0).pValue, 0.125, accuracy: 1e-12)
        // Symmetric, and 1 with no disagreement at all.
        XCTAssertEqual(pair(onlyA: 2, onlyB: 10, both: 80, neither: 8).pValue, p.pValue, accuracy: 1e-15)
        XCTAssertEqual(pair(onlyA: 0, onlyB: 0, both: 7, neither: 3).pValue, 1)
        // Thousands of disagreements stay finite (the sum runs in logs): 2600 vs 2400 of 10,000.
        let big = pair(onlyA: 2600, onlyB: 2400, both: 4000, neither: 1000)
        XCTAssertGreaterThan(big.pValue, 0); XCTAssertLessThan(big.pValue, 0.01)
    }

    func testDifferenceAndIntervalArePairedProportions() {
        let p = pair(onlyA: 10, onlyB: 2, both: 80, neither: 8)   // n = 100
        XCTAssertEqual(p.difference, 8, accuracy: 1e-12)
        let se = (12.0 - 64.0 / 100).squareRoot() / 100
        XCTAssertEqual(p.interval.lowerBound, 8 - 196 * se, accuracy: 1e-9)
        XCTAssertEqual(p.interval.upperBound, 8 + 196 * se, accuracy: 1e-9)
        let none = pair(onlyA: 0, onlyB: 0, both: 5, neither: 5)
        XCTAssertEqual(none.interval, 0...0)
        XCTAssertFalse(none.significant)
    }
}
