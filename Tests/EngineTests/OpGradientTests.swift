import Foundation
import XCTest
@testable import Engine

/// Every op's backward against central finite differences of a Double-precision forward written
/// from the formula (ggml's test-backend-ops scheme, with references in Double as swift-numerics
/// tests do). The scalar loss is sum(r * out) for fixed random r, so d loss / d out = r.
final class OpGradientTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// Central differences of f at x, in Double.
    func numericGrad(_ x: [Double], eps: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
        var x = x
        return x.indices.map { i in
            let v = x[i]
            x[i] = v + eps; let fp = f(x)
            x[i] = v - eps; let fm = f(x)
            x[i] = v
            return (fp - fm) / (2 * eps)
        }
    }

    func assertGrad(_ analytic: [Float], _ numeric: [Double], _ what: String, tol: Double = 2e-4,
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic.count, numeric.count, what, file: file, line: line)
        let scale = max(numeric.map(abs).max() ?? 0, 1e-3)
        for i in analytic.indices where abs(Double(analytic[i]) - numeric[i]) > tol * scale {
            XCTFail("\(what)[\(i)]: analytic \(analytic[i]), numeric \(numeric[i])", file: file, line: line)
            return
        }
    }

    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testLayerNorm() {
        var rng = TestRandom(seed: 1)
        let rows = 3, d = 7
        let x = rng.floats(rows * d, scale: 2), w = rng.floats(d), b = rng.floats(d), r = rng.floats(rows * d)
        func ref(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var out: [Double] = []
            for i in 0..<rows {
                let row = Array(x[(i * d)..<((i + 1) * d)])
                let m = row.reduce(0, +) / Double(d)
                let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d)
                out += (0..<d).map { (row[$0] - m) / (v + 1e-6).squareRoot() * w[$0] + b[$0] }
            }
            return dot(out, r.map(Double.init))
        }
        var out = [Float](repeating: 0, count: rows * d), mean = [Float](repeating: 0, count: rows), rstd = mean
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: b, rows: rows, d: d, eps: 1e-6)
        var dx = [Float](repeating: 0.5, count: rows * d)  // accumulates onto what is there
        var dw = [Float](repeating: 0, count: d), db = dw
        LayerNorm.backwardInput(dinp: &dx, dout: r, inp: x, mean: mean, rstd: rstd, weight: w, rows: rows, d: d)
        LayerNorm.backwardParams(dweight: &dw, dbias: &db, dout: r, inp: x, mean: mean, rstd: rstd, rows: rows, d: d, features: 0..<d)
        let xd = x.map(Double.init), wd = w.map(Double.init), bd = b.map(Double.init)
        assertGrad(dx.map { $0 - 0.5 }, numericGrad(xd) { ref($0, wd, bd) }, "LayerNorm dx")
        assertGrad(dw, numericGrad(wd) { ref(xd, $0, bd) }, "LayerNorm dweight")
        assertGrad(db, numericGrad(bd) { ref(xd, wd, $0) }, "LayerNorm dbias")
    }

    func testLinear() {
        var rng = TestRandom(seed: 2)
        let rows = 5, inF = 4, outF = 6
        let x = rng.floats(rows * inF), w = rng.floats(outF * inF), b = rng.floats(outF), r = rng.floats(rows * outF)
        func ref(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var s = 0.0
            for i in 0..<rows { for o in 0..<outF {
                var y = b[o]
                for k in 0..<inF { y += x[i * inF + k] * w[o * inF + k] }
                s += y * Double(r[i * outF + o])
            } }
            return s
        }
        var dx = [Float](repeating: 0, count: rows * inF), dw = [Float](repeating: 0, count: outF * inF), db = [Float](repeating: 0, count: outF)
        Linear.backwardInput(dinp: &dx, dout: r, weight: w, rows: rows, inFeatures: inF, outFeatures: outF, accumulate: false)
        // Two feature slices, as two workers would do them.
        Linear.backwardParams(dweight: &dw, dbias: &db, dout: r, inp: x, rows: rows, inFeatures: inF, outFeatures: outF, features: 0..<2)
        Linear.backwardParams(dweight: &dw, dbias: &db, dout: r, inp: x, rows: rows, inFeatures: inF, outFeatures: outF, features: 2..<outF)
        let xd = x.map(Double.init), wd = w.map(Double.init), bd = b.map(Double.init)
        assertGrad(dx, numericGrad(xd) { ref($0, wd, bd) }, "Linear dx")
        assertGrad(dw, numericGrad(wd) { ref(xd, $0, bd) }, "Linear dweight")
        assertGrad(db, numericGrad(bd) { ref(xd, wd, $0) }, "Linear dbias")
        // Forward agrees with the reference too.
        var y = [Float](repeating: 0, count: rows * outF)
        Linear.forward(out: &y, inp: x, weight: w, bias: b, rows: rows, inFeatures: inF, outFeatures: outF)
        XCTAssertEqual(Double(zip(y, r).reduce(0) { $0 + $1.0 * $1.1 }), ref(xd, wd, bd), accuracy: 1e-5)
    }

    func testGELUAgainstExactErf() {
        let xs: [Float] = stride(from: -8, through: 8, by: 0.01).map { Float($0) } + [-30, 30, 0]
        var out = [Float](repeating: 0, count: xs.count)
        GELU.forward(out: &out, inp: xs, count: xs.count)
        var worst = 0.0
        for (x, y) in zip(xs, out) {
            let e = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(e - Double(y)))
        }
        XCTAssertLessThan(worst, 6e-7, "GELU vs exact erf GELU")
        var d = [Float](repeating: 1, count: xs.count)
        GELU.backwardInPlace(grad: &d, inp: xs, count: xs.count)
        for (i, x) in xs.enumerated() {
            let num = (gelu(Double(x) + 1e-6) - gelu(Double(x) - 1e-6)) / 2e-6
            XCTAssertEqual(Double(d[i]), num, accuracy: 1e-6, "GELU' at \(x)")
        }
    }

    func gelu(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }

    func testFastExp() {
        let xs: [Float] = stride(from: -100, through: 88, by: 0.37).map { Float($0) }
        var out = [Float](repeating: 0, count: xs.count)
        ts_exp_wrapper(&out, xs)
        for (x, y) in zip(xs, out) {
            let e = Foundation.exp(Double(x))
            if x < -87.3 { XCTAssertEqual(y, 0) } else { XCTAssertEqual(Double(y), e, accuracy: e * 3e-7, "exp(\(x))") }
        }
    }

    func testAttentionHead() {
        var rng = TestRandom(seed: 4)
        let t = 5, heads = 2, hd = 3, inner = heads * hd
        let qkv = rng.floats(t * 3 * inner), r = rng.floats(t * inner)
        let scale = 1 / Float(hd).squareRoot()
        func ref(_ qkv: [Double]) -> Double {
            var s = 0.0
            for h in 0..<heads { for i in 0..<t {
                var logits = (0..<t).map { j -> Double in
                    (0..<hd).reduce(0.0) { $0 + qkv[i * 3 * inner + h * hd + $1] * qkv[j * 3 * inner + inner + h * hd + $1] } * Double(scale)
                }
                let m = logits.max()!
                logits = logits.map { Foundation.exp($0 - m) }
                let z = logits.reduce(0, +)
                for e in 0..<hd {
                    let o = (0..<t).reduce(0.0) { $0 + logits[$1] / z * qkv[$1 * 3 * inner + 2 * inner + h * hd + e] }
                    s += o * Double(r[i * inner + h * hd + e])
                }
            } }
            return s
        }
        var out = [Float](repeating: 0, count: t * inner), att = [Float](repeating: 0, count: heads * t * t)
        for h in 0..<heads {
            att.withUnsafeMutableBufferPointer { a in
                Attention.forwardHead(out: &out, att: a.baseAddress! + h * t * t, qkv: qkv, head: h, tokens: t, queries: 0..<t,
                                      heads: heads, headDim: hd, scale: scale)
            }
        }
        XCTAssertEqual(Double(zip(out, r).reduce(0) { $0 + $1.0 * $1.1 }), ref(qkv.map(Double.init)), accuracy: 1e-5)
        var dqkv = [Float](repeating: 0, count: t * 3 * inner), dA = [Float](repeating: 0, count: t * t), dS = dA
        var keys = [Float](repeating: 0, count: t)
        for h in 0..<heads {
            Attention.backwardHead(dqkv: &dqkv, dA: &dA, dS: &dS, keyScores: &keys, dout: r, att: Array(att[(h * t * t)...]),
                                   qkv: qkv, head: h, tokens: t, heads: heads, headDim: hd, scale: scale)
        }
        assertGrad(dqkv, numericGrad(qkv.map(Double.init), ref), "attention dqkv")
    }

    func testCrossEntropyWithLabelSmoothing() {
        var rng = TestRandom(seed: 5)
        let b = 3, k = 4
        let z = rng.floats(b * k, scale: 3)
        let labels: [Int32] = [2, 0, 3]
        let eps: Float = 0.1
        func ref(_ z: [Double]) -> Double {
            var total = 0.0
            for i in 0..<b {
                let row = Array(z[(i * k)..<((i + 1) * k)])
                let m = row.max()!
                let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
                for j in 0..<k {
                    let q = (j == Int(labels[i]) ? 1 - Double(eps) : 0) + Double(eps) / Double(k)
                    total -= q * (row[j] - lse)
                }
            }
            return total / Double(b)
        }
        var probs = [Float](repeating: 0, count: b * k), d = probs
        let loss = CrossEntropy.forward(probs: &probs, logits: z, labels: labels, batch: b, classes: k, smoothing: eps)
        XCTAssertEqual(loss, ref(z.map(Double.init)), accuracy: 1e-6)
        CrossEntropy.backward(dlogits: &d, probs: probs, labels: labels, batch: b, classes: k, smoothing: eps, scale: 1 / Float(b))
        assertGrad(d, numericGrad(z.map(Double.init), ref), "cross-entropy dlogits")
    }

    func testSoftDistillation() {
        var rng = TestRandom(seed: 6)
        let b = 2, k = 5, tau: Float = 3
        let s = rng.floats(b * k, scale: 2), t = rng.floats(b * k, scale: 2)
        func ref(_ s: [Double]) -> Double {
            var total = 0.0
            for i in 0..<b {
                func logSoftmax(_ z: [Double]) -> [Double] {
                    let m = z.max()!
                    let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
                    return z.map { $0 - lse }
                }
                let ls = logSoftmax(s[(i * k)..<((i + 1) * k)].map { $0 / Double(tau) })
                let lt = logSoftmax(t[(i * k)..<((i + 1) * k)].map { Double($0) / Double(tau) })
                for j in 0..<k { total += Foundation.exp(lt[j]) * (lt[j] - ls[j]) }
            }
            return total * Double(tau * tau) / Double(b * k)
        }
        var ps = [Float](repeating: 0, count: b * k), pt = ps, d = ps
        let loss = SoftDistillation.forward(studentProbs: &ps, teacherProbs: &pt, student: s, teacher: t, batch: b, classes: k, tau: tau)
        XCTAssertEqual(loss, ref(s.map(Double.init)), accuracy: 1e-7)
        SoftDistillation.backward(dstudent: &d, studentProbs: ps, teacherProbs: pt, batch: b, classes: k, tau: tau, scale: 1)
        assertGrad(d, numericGrad(s.map(Double.init), ref), "distillation dstudent")
    }

    /// The whole model, distilled layout without qkv bias, against finite differences of the naive
    /// Double forward (ReferenceViT) on a sample of every parameter tensor.
    func testWholeModelDistilledAgainstFiniteDifferences() throws {
        let cfg = ViTConfig(imageSize: 8, patchSize: 4, channels: 2, dim: 8, depth: 2, heads: 2, headDim: 4,
                            mlpDim: 12, numClasses: 3, distilled: true, qkvBias: false)
        let model = try ViTModel(config: cfg)
        var rng = TestRandom(seed: 7)
        for i in 0..<model.table.count { model.params.base[i] = rng.float(0.5) }
        let b = 2
        let images = rng.floats(b * 2 * 64)
        let labels: [Int32] = [1, 2]
        let acts = Activations(config: cfg, batch: b, keepAllLayers: true)
        images.withUnsafeBufferPointer { model.forward(acts, images: $0.baseAddress!, batch: b, workers: 2) }
        var probs = [Float](repeating: 0, count: b * 3), dl = probs
        CrossEntropy.forward(probs: &probs, logits: acts.logits, labels: labels, batch: b, classes: 3, smoothing: 0.1)
        CrossEntropy.backward(dlogits: &dl, probs: probs, labels: labels, batch: b, classes: 3, smoothing: 0.1, scale: 0.5)
        let grads = Gradients(model: model)
        model.backward(acts, scratch: BackwardScratch(config: cfg, batch: b), grads: grads, dlogits: dl, batch: b, workers: 2)

        func loss() -> Double {
            let ref = ReferenceViT(model)
            var total = 0.0
            for i in 0..<b {
                let z = ref.forward(image: Array(images[(i * 128)..<((i + 1) * 128)])).logits
                let m = z.max()!
                let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
                for j in 0..<3 { total -= ((j == Int(labels[i]) ? 0.9 : 0) + 0.1 / 3) * (z[j] - lse) }
            }
            return total / Double(b)
        }
        for item in model.table.items {
            for e in Set([0, item.count / 2, item.count - 1]) {
                let p = model.params.base + item.offset + e
                let v = p.pointee
                let up = v + 1e-2, down = v - 1e-2
                p.pointee = up; let fp = loss()
                p.pointee = down; let fm = loss()
                p.pointee = v
                let numeric = (fp - fm) / Double(up - down)  // the step as it is in Float
                let analytic = Double(grads.arena.base[item.offset + e])
                XCTAssertEqual(analytic, numeric, accuracy: 2e-4 + 1e-3 * abs(numeric), "\(item.name)[\(e)]")
            }
        }
    }
}

import CKernels
func ts_exp_wrapper(_ out: inout [Float], _ inp: [Float]) { ts_exp(&out, inp, inp.count) }
