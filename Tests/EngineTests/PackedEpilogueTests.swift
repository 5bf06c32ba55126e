import Foundation
import XCTest
@testable import Engine

/// Every epilogue of a packed product (what oneDNN does with the product inside its kernel) against
/// the same sums in Double, and `Linear.forward` on a packed weight, which reads bias and residual
/// in the epilogue, against its plain GEMM path.
/// A product of 37 rows, 24 inputs and 40 outputs (tails in every dimension of oneDNN's blocking).
private let rows = 37, inp = 24, out = 40

final class PackedEpilogueTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func testEveryEpilogueMatchesItsFormula() throws {
        let (x, w, bias, residual, start) = operands()
        let gelu = { (v: Double) in 0.5 * v * (1 + erf(v / 2.squareRoot())) }
        let cases: [(PackedWeight.Epilogue, (Int, Int, Double) -> Double)] = [
            (.store, { _, _, p in p }),
            (.accumulate, { r, o, p in Double(start[r * out + o]) + p }),
            (.bias, { _, o, p in p + Double(bias[o]) }),
            (.biasResidual, { r, o, p in p + Double(bias[o]) + Double(residual[r * out + o]) }),
            (.biasGELU, { _, o, p in gelu(p + Double(bias[o])) }),
        ]
        for (epilogue, formula) in cases {
            let got = try runPacked(epilogue: epilogue, x: x, w: w, bias: epilogue.readsBias ? bias : nil,
                                    residual: epilogue == .biasResidual ? residual : nil, start: start)
            var worst = 0.0
            for r in 0..<rows {
                for o in 0..<out {
                    var p = 0.0
                    for i in 0..<inp { p += Double(x[r * inp + i]) * Double(w[o * inp + i]) }
                    worst = max(worst, abs(Double(got[r * out + o]) - formula(r, o, p)))
                }
            }
            XCTAssertLessThan(worst, 1e-4, "\(epilogue)")
        }
    }

    /// An epilogue asked for without the operands it reads (or with the residual in the output's
    /// place) is refused, and the caller runs the plain GEMM.
    func testMissingOrAliasedOperandsAreRefused() throws {
        let (x, w, bias, residual, _) = operands()
        let packed = try XCTUnwrap(w.withUnsafeBufferPointer { PackedWeight(weight: $0.baseAddress!, out: out, in: inp) })
        var y = residual
        let refused: [Bool] = onFreshThread {
            x.withUnsafeBufferPointer { xp in bias.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { yp in
                (0..<MatMulThreadCache.creationSightings + 1).flatMap { _ in [
                    packed.run(out: yp.baseAddress!, inp: xp.baseAddress!, rows: rows, epilogue: .bias),
                    packed.run(out: yp.baseAddress!, inp: xp.baseAddress!, rows: rows, epilogue: .biasResidual, bias: bp.baseAddress!),
                    packed.run(out: yp.baseAddress!, inp: xp.baseAddress!, rows: rows, epilogue: .biasResidual,
                               bias: bp.baseAddress!, residual: UnsafePointer(yp.baseAddress!)),
                ] }
            } } }
        }
        XCTAssertEqual(refused, Array(repeating: false, count: refused.count))
    }

    /// `Linear.forward` with bias and residual on a packed weight (epilogue) and without (prefill and
    /// accumulate) agree; with the residual in the output's place it still adds it once.
    func testLinearForwardPackedMatchesPlain() throws {
        let (x, w, bias, residual, _) = operands()
        let packed = try XCTUnwrap(w.withUnsafeBufferPointer { PackedWeight(weight: $0.baseAddress!, out: out, in: inp) })
        var plain = [Float](repeating: 0, count: rows * out)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
            residual.withUnsafeBufferPointer { rp in plain.withUnsafeMutableBufferPointer { yp in
                Linear.forward(out: yp.baseAddress!, inp: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!,
                               rows: rows, inFeatures: inp, outFeatures: out, residual: rp.baseAddress!)
            } }
        } } }
        let (separate, inPlace): ([Float], [Float]) = onFreshThread {
            var y = [Float](repeating: 0, count: rows * out), z = residual
            for _ in 0..<MatMulThreadCache.creationSightings {
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    residual.withUnsafeBufferPointer { rp in y.withUnsafeMutableBufferPointer { yp in
                        Linear.forward(out: yp.baseAddress!, inp: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                       rows: rows, inFeatures: inp, outFeatures: out, residual: rp.baseAddress!, packed: packed)
                    } }
                } } }
                z = residual
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    z.withUnsafeMutableBufferPointer { zp in
                        Linear.forward(out: zp.baseAddress!, inp: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                       rows: rows, inFeatures: inp, outFeatures: out, residual: UnsafePointer(zp.baseAddress!),
                                       packed: packed)
                    }
                } } }
            }
            return (y, z)
        }
        for j in 0..<plain.count {
            XCTAssertEqual(separate[j], plain[j], accuracy: 1e-4)
            XCTAssertEqual(inPlace[j], plain[j], accuracy: 1e-4)
        }
    }

    private func operands() -> (x: [Float], w: [Float], bias: [Float], residual: [Float], start: [Float]) {
        let wave = { (n: Int, a: Int, b: Int) in (0..<n).map { Float(($0 * a) % b) / Float(b) - 0.5 } }
        return (wave(rows * inp, 13, 11), wave(out * inp, 7, 9), wave(out, 5, 17), wave(rows * out, 3, 23),
                wave(rows * out, 11, 19))
    }

    /// Runs the product `creationSightings` times on a fresh thread (so the last run is packed) and
    /// returns the last output; fails when the last run was not packed.
    private func runPacked(epilogue: PackedWeight.Epilogue, x: [Float], w: [Float], bias: [Float]?,
                           residual: [Float]?, start: [Float]) throws -> [Float] {
        let packed = try XCTUnwrap(w.withUnsafeBufferPointer { PackedWeight(weight: $0.baseAddress!, out: out, in: inp) })
        let (y, ran): ([Float], Bool) = onFreshThread {
            var y = start, ran = false
            for _ in 0..<MatMulThreadCache.creationSightings {
                y = start
                ran = x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                    (bias ?? []).withUnsafeBufferPointer { bp in (residual ?? []).withUnsafeBufferPointer { rp in
                        packed.run(out: yp.baseAddress!, inp: xp.baseAddress!, rows: rows, epilogue: epilogue,
                                   bias: bias == nil ? nil : bp.baseAddress, residual: residual == nil ? nil : rp.baseAddress)
                    } }
                } }
            }
            return (y, ran)
        }
        XCTAssertTrue(ran, "\(epilogue) ran packed")
        return y
    }

    /// `body` on a thread of its own: its primitive cache starts empty and goes when it ends.
    private func onFreshThread<T>(_ body: @escaping () -> T) -> T {
        let box = FreshThreadBox(body)
        let done = DispatchSemaphore(value: 0)
        let t = Thread { box.value = box.body(); done.signal() }
        t.start()
        done.wait()
        return box.value!
    }
}

private final class FreshThreadBox<T>: @unchecked Sendable {
    var value: T?
    let body: () -> T
    init(_ body: @escaping () -> T) { self.body = body }
}
