import Foundation
import XCTest
@testable import Engine

/// The per-thread cache of oneDNN matmul primitives is bounded: the explorer runs a new row count
/// (token count) at nearly every setting, and a cache that kept them all grew without end.
final class PrimitiveCacheTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func testManyRowCountsStayWithinTheCapacityAndStayCorrect() throws {
        let (out, inp) = (16, 16)
        var weight = [Float](repeating: 0, count: out * inp)
        for i in 0..<weight.count { weight[i] = Float(i % 7) - 3 }
        let packed = try XCTUnwrap(weight.withUnsafeBufferPointer { PackedWeight(weight: $0.baseAddress!, out: out, in: inp) })
        let shapes = MatMulThreadCache.capacity + 200
        final class Results: @unchecked Sendable {
            var counts: [Int] = []
            var worst: Float = 0
            var packedRuns = 0
        }
        let results = Results()
        let done = DispatchSemaphore(value: 0)
        // A thread of its own: its cache starts empty and goes when the thread ends.
        let t = Thread { [weight] in
            defer { done.signal() }
            var counts: [Int] = []
            var worst: Float = 0
            var packedRuns = 0
            for rows in 1...shapes {
                let x = (0..<(rows * inp)).map { Float(($0 * 13) % 11) - 5 }
                var want = [Float](repeating: 0, count: rows * out)
                for r in 0..<rows { for o in 0..<out { for i in 0..<inp { want[r * out + o] += x[r * inp + i] * weight[o * inp + i] } } }
                for _ in 0..<MatMulThreadCache.creationSightings {
                    var got = [Float](repeating: 0, count: rows * out)
                    let ran = x.withUnsafeBufferPointer { xp in got.withUnsafeMutableBufferPointer { gp in
                        packed.run(out: gp.baseAddress!, inp: xp.baseAddress!, rows: rows, epilogue: .store) } }
                    if ran {
                        packedRuns += 1
                        for j in 0..<got.count { worst = max(worst, abs(got[j] - want[j])) }
                    }
                }
                counts.append(MatMulThreadCache.current.primitiveCount)
            }
            results.counts = counts; results.worst = worst; results.packedRuns = packedRuns
        }
        t.start()
        XCTAssertEqual(done.wait(timeout: .now() + 300), .success)
        let (counts, worst, packedRuns) = (results.counts, results.worst, results.packedRuns)
        XCTAssertEqual(counts.count, shapes)
        XCTAssertGreaterThan(packedRuns, MatMulThreadCache.capacity, "the shapes ran packed")
        XCTAssertLessThanOrEqual(counts.max() ?? 0, MatMulThreadCache.capacity)
        XCTAssertGreaterThan(counts.last ?? 0, MatMulThreadCache.capacity / 2, "eviction keeps the recent primitives")
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }
}
