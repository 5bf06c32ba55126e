import Foundation
import XCTest
@testable import Engine

/// The per-thread cache of oneDNN matmul primitives is bounded: the explorer runs a new row count
/// (token count) at nearly every setting, and a cache that kept them all grew without end.
final class PrimitiveCacheTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func testManyRowCountsStayWithinTheCapacityAndStayCorrect() throws {
        let r = try runRowCounts(1...(MatMulThreadCache.capacity + 200))
        XCTAssertGreaterThan(r.packedRuns, MatMulThreadCache.capacity, "the shapes ran packed")
        XCTAssertLessThanOrEqual(r.counts.max() ?? 0, MatMulThreadCache.capacity)
        XCTAssertGreaterThan(r.counts.last ?? 0, MatMulThreadCache.capacity / 2, "eviction keeps the recent primitives")
        XCTAssertLessThanOrEqual(r.worst, 1e-4)
    }

    /// The explorer's bounds (`PackedWeight.limitPrimitives`): the thread's cache stays within the new
    /// per-thread bound, oneDNN's shared cache takes its bound, and the products stay exact.
    func testLimitPrimitivesBoundsBothCaches() throws {
        let sharedBefore = PackedWeight.sharedPrimitiveCapacity
        XCTAssertGreaterThan(sharedBefore, 5)
        let perThreadBefore = MatMulThreadCache.capacity
        PackedWeight.limitPrimitives(perThread: 12, shared: 5)
        defer { PackedWeight.limitPrimitives(perThread: perThreadBefore, shared: sharedBefore) }
        XCTAssertEqual(PackedWeight.sharedPrimitiveCapacity, 5)
        let r = try runRowCounts(1...60)
        XCTAssertGreaterThan(r.packedRuns, 12, "the shapes ran packed")
        XCTAssertLessThanOrEqual(r.counts.max() ?? 0, 12)
        XCTAssertGreaterThan(r.counts.last ?? 0, 12 / 2, "eviction keeps the recent primitives")
        XCTAssertLessThanOrEqual(r.worst, 1e-4)
    }

    /// Runs a 16 -> 16 product at every row count, as often as a shape needs to be seen before it
    /// gets a primitive, on a thread of its own (its cache starts empty and goes when it ends), against
    /// a plain loop. Returns the thread's primitive count after each row count, the packed runs and
    /// the worst difference.
    private func runRowCounts(_ rowCounts: ClosedRange<Int>) throws -> (counts: [Int], packedRuns: Int, worst: Float) {
        let (out, inp) = (16, 16)
        var weight = [Float](repeating: 0, count: out * inp)
        for i in 0..<weight.count { weight[i] = Float(i % 7) - 3 }
        let packed = try XCTUnwrap(weight.withUnsafeBufferPointer { PackedWeight(weight: $0.baseAddress!, out: out, in: inp) })
        final class Results: @unchecked Sendable {
            var counts: [Int] = []
            var worst: Float = 0
            var packedRuns = 0
        }
        let results = Results()
        let done = DispatchSemaphore(value: 0)
        let t = Thread { [weight] in
            defer { done.signal() }
            for rows in rowCounts {
                let x = (0..<(rows * inp)).map { Float(($0 * 13) % 11) - 5 }
                var want = [Float](repeating: 0, count: rows * out)
                for r in 0..<rows { for o in 0..<out { for i in 0..<inp { want[r * out + o] += x[r * inp + i] * weight[o * inp + i] } } }
                for _ in 0..<MatMulThreadCache.creationSightings {
                    var got = [Float](repeating: 0, count: rows * out)
                    let ran = x.withUnsafeBufferPointer { xp in got.withUnsafeMutableBufferPointer { gp in
                        packed.run(out: gp.baseAddress!, inp: xp.baseAddress!, rows: rows, epilogue: .store) } }
                    if ran {
                        results.packedRuns += 1
                        for j in 0..<got.count { results.worst = max(results.worst, abs(got[j] - want[j])) }
                    }
                }
                results.counts.append(MatMulThreadCache.current.primitiveCount)
            }
        }
        t.start()
        XCTAssertEqual(done.wait(timeout: .now() + 300), .success)
        XCTAssertEqual(results.counts.count, rowCounts.count)
        return (results.counts, results.packedRuns, results.worst)
    }
}
