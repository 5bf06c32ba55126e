import Foundation
import XCTest
@testable import Compression
import Engine

/// PiToMe: the energy against its formula in Double, the counts and margins against PiToMe's
/// arithmetic, an isolated token that never merges, and the unprotected matching on ToMe's split
/// giving ToMe's merge.
final class PiToMeTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// Energies and S of a metric given as rows [t, hd].
    func energy(_ metric: [Float], t: Int, hd: Int, prefix: Int = 1, margin: Float) -> ([Float], [Float]) {
        let n = t - prefix
        var s = [Float](repeating: 0, count: n * n)
        let e = metric.withUnsafeBufferPointer { m in
            s.withUnsafeMutableBufferPointer { EnergyMatching.energy(metric: m.baseAddress!, tokens: t, prefix: prefix, dim: hd, margin: margin, similarity: $0.baseAddress!) }
        }
        return (e, s)
    }

    func plan(_ e: [Float], _ s: [Float], t: Int, r: Int, protecting: Bool) -> BipartiteMatching.Plan {
        s.withUnsafeBufferPointer { EnergyMatching.plan(energy: e, similarity: $0.baseAddress!, tokens: t, prefix: 1, r: r, protecting: protecting) }
    }

    /// Unit rows in `hd` dimensions.
    func unitRows(_ rows: [[Double]]) -> [Float] {
        rows.flatMap { r -> [Float] in
            let n = r.map { $0 * $0 }.reduce(0, +).squareRoot()
            return r.map { Float($0 / n) }
        }
    }

    func testEnergyIsTheMeanELUOfTheMarginedCosines() {
        var rng = SplitMix64(seed: 3)
        let t = 9, hd = 5, margin = 0.4
        let rows = (0..<t).map { _ in (0..<hd).map { _ in Double(rng.nextNormal()) } }
        let metric = unitRows(rows)
        let (e, _) = energy(metric, t: t, hd: hd, margin: Float(margin))
        let m = (0..<t).map { i in (0..<hd).map { Double(metric[i * hd + $0]) } }
        for i in 1..<t {
            var sum = 0.0
            for j in 1..<t {
                let c = zip(m[i], m[j]).map(*).reduce(0, +) - margin
                sum += c > 0 ? c : Foundation.exp(c) - 1
            }
            XCTAssertEqual(Double(e[i - 1]), sum / Double(t - 1), accuracy: 1e-6, "token \(i)")
        }
    }

    /// Seven patch tokens close to one direction and one pointing away: the lone one has the
    /// lowest energy and stays a token of its own whether the block protects or not.
    func testAnIsolatedTokenIsNeverMerged() {
        let t = 9, hd = 3
        var rows: [[Double]] = [[0, 0, 1]]  // CLS
        for k in 0..<8 { rows.append(k == 5 ? [-1, 0.2, 0] : [1, 0.1 * Double(k), 0.05 * Double(k % 3)]) }
        let metric = unitRows(rows)
        let (e, s) = energy(metric, t: t, hd: hd, margin: 0.5)
        XCTAssertEqual(e.indices.min { e[$0] < e[$1] }, 5, "the lone token has the lowest energy: \(e)")
        for (protecting, r) in [(true, 2), (true, 3), (false, 2), (false, 3)] {
            let p = plan(e, s, t: t, r: r, protecting: protecting)
            XCTAssertEqual(p.tokens, t - r)
            let lone = p.newOf[1 + 5]
            XCTAssertEqual(p.newOf.filter { $0 == lone }.count, 1, "protecting \(protecting), r \(r): the lone token merged")
            XCTAssertFalse(p.sources.contains(Int32(1 + 5)))
            XCTAssertEqual(p.newOf[0], 0, "CLS stays first")
        }
    }

    /// With the energy order alternating as ToMe's index parity (tokens 2, 1, 4, 3, ...: A the
    /// even tokens, B the odd ones, CLS aside), the unprotected matching merges exactly what ToMe's
    /// bipartite matching merges.
    func testUnprotectedMatchingOnToMesSplitIsToMe() {
        var rng = SplitMix64(seed: 9)
        for (t, r) in [(9, 1), (9, 3), (9, 4), (13, 5)] {
            let hd = 4
            let metric = unitRows((0..<t).map { _ in (0..<hd).map { _ in Double(rng.nextNormal()) } })
            let (_, s) = energy(metric, t: t, hd: hd, margin: 0.5)
            // Patch j is token j + 1; order patches 1, 0, 3, 2, ... by giving them falling energies.
            let n = t - 1
            let order = (0..<n).map { $0 % 2 == 0 ? min($0 + 1, n - 1) : $0 - 1 }
            var e = [Float](repeating: 0, count: n)
            for (rank, j) in order.enumerated() { e[j] = Float(n - rank) }
            let mine = plan(e, s, t: t, r: r, protecting: false)
            var scores = [Float](repeating: 0, count: ((t + 1) / 2) * (t / 2))
            let tome = metric.withUnsafeBufferPointer { m in
                scores.withUnsafeMutableBufferPointer { BipartiteMatching.plan(metric: m.baseAddress!, tokens: t, dim: hd, r: r, distilled: false, scores: $0.baseAddress!) }
            }
            func groups(_ p: BipartiteMatching.Plan) -> Set<Set<Int>> {
                Set(Dictionary(grouping: 0..<t) { p.newOf[$0] }.values.map(Set.init))
            }
            XCTAssertEqual(groups(mine), groups(tome), "t \(t) r \(r)")
            XCTAssertEqual(Set(mine.sources), Set(tome.sources), "t \(t) r \(r)")
        }
    }

    /// PiToMe's r = int(T - T ratio) per block on 196 patches, and its margins m (1 - l/L).
    func testCountsMarginsAndProtectedBlocksFollowPiToMe() throws {
        let c = ViTConfig(imageSize: 28, patchSize: 2, channels: 1, dim: 8, depth: 12, heads: 2, numClasses: 3)
        let dense = try ViTModel(config: c)
        let m = try PiToMeModel(dense: dense, ratio: 0.9)
        XCTAssertEqual(m.tokenCounts.map { $0.attention - $0.mlp }, [19, 17, 16, 14, 13, 11, 10, 9, 8, 7, 7, 6])
        XCTAssertEqual(m.tokenCounts.last?.mlp, 60)
        XCTAssertEqual(try PiToMeModel(dense: dense, ratio: 0.975).tokenCounts.map { $0.attention - $0.mlp }, [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3])
        XCTAssertEqual(m.margin(layer: 0), 0.75); XCTAssertEqual(m.margin(layer: 1), 0.6875); XCTAssertEqual(m.margin(layer: 11), 0.0625, accuracy: 1e-12)
        XCTAssertEqual((0..<12).filter(m.protects), Array(6..<12))
        XCTAssertTrue(try PiToMeModel(dense: dense, ratio: 1).tokenCounts.allSatisfy { $0.mlp == $0.attention })
        XCTAssertThrowsError(try PiToMeModel(dense: dense, ratio: 0.4))
        XCTAssertThrowsError(try PiToMeModel(dense: dense, ratio: .nan))
    }

    /// Ratio 1 merges nothing: the pass is the dense pass.
    func testRatioOneIsTheDensePass() throws {
        let dense = try tinyModel(seed: 2, depth: 3)
        let c = dense.config
        let images = randomImages(2, c, seed: 1)
        let m = try PiToMeModel(dense: dense, ratio: 1)
        let pass = m.makePass(batch: 2, recordLayouts: false)
        let reference = DensePass(dense, batch: 2)
        images.withUnsafeBufferPointer { x in
            pass.forward(images: x.baseAddress!, batch: 2, workers: 1, afterBlock: nil)
            reference.forward(images: x.baseAddress!, batch: 2, workers: 1, afterBlock: nil)
        }
        let a = pass.logitsArray(batch: 2, classes: c.numClasses), b = reference.logitsArray(batch: 2, classes: c.numClasses)
        for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5) }
    }
}
