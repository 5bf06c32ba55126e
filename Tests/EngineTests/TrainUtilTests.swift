import Foundation
import XCTest
@testable import Engine

/// AdamW against a Double reference of PyTorch's formula, gradient clipping, the learning-rate
/// schedule, the progress line and the JSON-lines log.
final class TrainUtilTests: XCTestCase {
    // MARK: - AdamW

    struct Reference {
        var p: [Double], m: [Double], v: [Double], t = 0
        init(_ p: [Double]) { self.p = p; m = p.map { _ in 0 }; v = m }
        /// torch.optim.AdamW, written out in Double.
        mutating func step(_ g: [Double], lr: Double, wd: Double, mask: [Double], b1: Double, b2: Double, eps: Double) {
            t += 1
            for i in p.indices {
                p[i] *= 1 - lr * wd * mask[i]
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mhat = m[i] / (1 - pow(b1, Double(t))), vhat = v[i] / (1 - pow(b2, Double(t)))
                p[i] -= lr * mhat / (vhat.squareRoot() + eps)
            }
        }
    }

    func runAdamW(beta1: Double, steps: Int, file: StaticString = #filePath, line: UInt = #line) {
        let p0: [Float] = [1.0, -0.5, 0.25, 2.0, -1.5, 0.003]
        let mask: [Float] = [1, 0, 1, 1, 0, 1]
        var params = p0
        var ref = Reference(p0.map(Double.init))
        let opt = AdamW(count: p0.count, beta1: beta1)
        for s in 0..<steps {
            // Gradients of mixed sizes and signs, one near eps so that its placement matters.
            let g: [Float] = [0.3, -2.0, 1e-8, Float(s) - 2, 0.05 * Float(s + 1), s % 2 == 0 ? 4 : -4]
            let lr: Float = 1e-3 * Float(s + 1)
            params.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { gb in
                    mask.withUnsafeBufferPointer { mb in
                        opt.update(params: p.baseAddress!, grads: gb.baseAddress!, lr: lr, weightDecay: 0.05, decayMask: mb.baseAddress!)
                    }
                }
            }
            ref.step(g.map(Double.init), lr: Double(lr), wd: 0.05, mask: mask.map(Double.init), b1: beta1, b2: 0.999, eps: 1e-8)
        }
        XCTAssertEqual(opt.step, steps, file: file, line: line)
        for i in p0.indices {
            let moved = ref.p[i] - Double(p0[i])
            // Float rounding of p itself (about 2 roundings of half an ulp per step) plus 1e-5 relative.
            let tol = Double(steps) * Double(p0[i].magnitude.ulp) * 2 + 1e-5 * abs(moved)
            XCTAssertEqual(Double(params[i]) - Double(p0[i]), moved, accuracy: tol, "param \(i)", file: file, line: line)
            XCTAssertEqual(Double(opt.m.base[i]), ref.m[i], accuracy: 1e-6 * max(abs(ref.m[i]), 1e-6), "m \(i)", file: file, line: line)
            XCTAssertEqual(Double(opt.v.base[i]), ref.v[i], accuracy: 1e-5 * max(abs(ref.v[i]), 1e-12), "v \(i)", file: file, line: line)
        }
    }

    func testAdamWMatchesPyTorchFormula() {
        runAdamW(beta1: 0.9, steps: 7)
        runAdamW(beta1: 0.3, steps: 5) // the other branch of ATen's lerp
    }

    func testAdamWBiasCorrectionAndDecayMask() {
        // First step, no decay: m̂ = g and v̂ = g², so each parameter moves by lr·g/(|g| + eps) ≈ lr·sign(g).
        let opt = AdamW(count: 3)
        var p: [Float] = [1, 1, 1]
        let g: [Float] = [0.5, -3, 1e-8], ones: [Float] = [1, 1, 1], zeros: [Float] = [0, 0, 0]
        p.withUnsafeMutableBufferPointer { opt.update(params: $0.baseAddress!, grads: g, lr: 0.01, weightDecay: 0, decayMask: ones) }
        XCTAssertEqual(p[0], 1 - 0.01 * 0.5 / (0.5 + 1e-8), accuracy: 1e-7)
        XCTAssertEqual(p[1], 1 + 0.01, accuracy: 1e-7)
        XCTAssertEqual(p[2], 1 - 0.01 * 0.5, accuracy: 1e-7) // g = eps: half the step
        // Zero gradients: only the decay acts, p · (1 − lr·wd) per step where the mask is 1.
        let o2 = AdamW(count: 2)
        var q: [Float] = [2, 2]
        let mask: [Float] = [1, 0]
        for _ in 0..<10 {
            q.withUnsafeMutableBufferPointer { o2.update(params: $0.baseAddress!, grads: zeros, lr: 0.1, weightDecay: 0.5, decayMask: mask) }
        }
        XCTAssertEqual(Double(q[0]), 2 * pow(0.95, 10), accuracy: 1e-6)
        XCTAssertEqual(q[1], 2)
    }

    func testClipGradNorm() {
        var rng = SplitMix64(seed: 5)
        let g0 = (0..<10_000).map { _ in 0.1 * rng.nextNormal() }
        let direct = g0.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        var g = g0
        let norm = g.withUnsafeMutableBufferPointer { AdamW.clipGradNorm($0.baseAddress!, count: $0.count, maxNorm: 1) }
        XCTAssertEqual(Double(norm), direct, accuracy: 1e-6 * direct)
        let coef = Float(1 / (direct + 1e-6))
        for i in stride(from: 0, to: g.count, by: 997) { XCTAssertEqual(g[i], g0[i] * coef, accuracy: 1e-7) }
        let after = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(after, 1, accuracy: 1e-5)
        // Under the limit: untouched, same norm returned.
        var h = g0
        let n2 = h.withUnsafeMutableBufferPointer { AdamW.clipGradNorm($0.baseAddress!, count: $0.count, maxNorm: 100) }
        XCTAssertEqual(h, g0)
        XCTAssertEqual(n2, norm)
        // Empty and non-finite inputs.
        var one: [Float] = [3]
        XCTAssertEqual(one.withUnsafeMutableBufferPointer { AdamW.clipGradNorm($0.baseAddress!, count: 0, maxNorm: 1) }, 0)
        XCTAssertEqual(one, [3])
        var bad: [Float] = [1, .nan, 2]
        XCTAssertTrue(bad.withUnsafeMutableBufferPointer { AdamW.clipGradNorm($0.baseAddress!, count: 3, maxNorm: 1) }.isNaN)
        XCTAssertEqual(bad[0], 1)
        XCTAssertEqual(bad[2], 2)
    }

    // MARK: - LRSchedule

    func testLRSchedule() {
        let s = LRSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110)
        XCTAssertEqual(s.lr(at: 0), 1e-4, accuracy: 1e-10)
        XCTAssertEqual(s.lr(at: 4), 5e-4, accuracy: 1e-10)
        XCTAssertEqual(s.lr(at: 9), 1e-3, accuracy: 1e-10)
        XCTAssertEqual(s.lr(at: 10), 1e-3, accuracy: 1e-10)
        XCTAssertEqual(s.lr(at: 60), 5e-4, accuracy: 1e-10) // halfway through the cosine
        XCTAssertEqual(s.lr(at: 35), Float(5e-4 * (1 + cos(Double.pi / 4))), accuracy: 1e-10)
        XCTAssertGreaterThan(s.lr(at: 109), 0)
        XCTAssertEqual(s.lr(at: 110), 0)
        XCTAssertEqual(s.lr(at: 10_000), 0)
        XCTAssertEqual(s.lr(at: -5), s.lr(at: 0))
        for k in 10..<110 { XCTAssertLessThanOrEqual(s.lr(at: k + 1), s.lr(at: k)) }

        let floor = LRSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110, minLR: 1e-5)
        XCTAssertEqual(floor.lr(at: 60), (1e-3 + 1e-5) / 2, accuracy: 1e-10)
        XCTAssertEqual(floor.lr(at: 110), 1e-5)
        XCTAssertEqual(floor.lr(at: 200), 1e-5)
        let noWarmup = LRSchedule(peak: 2e-3, warmupSteps: 0, totalSteps: 100)
        XCTAssertEqual(noWarmup.lr(at: 0), 2e-3)
        XCTAssertEqual(noWarmup.lr(at: 50), 1e-3, accuracy: 1e-10)
    }

    // MARK: - Progress

    let snap = ProgressSnapshot(epoch: 2, epochs: 6, step: 1234, totalSteps: 2814, loss: 1.23454, accuracy: 56.71,
                                imagesPerSecond: 63.24, elapsedSeconds: 900, etaSeconds: 754)

    func testClockAndBar() {
        XCTAssertEqual(ProgressFormat.clock(0), "0:00:00")
        XCTAssertEqual(ProgressFormat.clock(7), "0:00:07")
        XCTAssertEqual(ProgressFormat.clock(59.6), "0:01:00")
        XCTAssertEqual(ProgressFormat.clock(3599.4), "0:59:59")
        XCTAssertEqual(ProgressFormat.clock(97_380), "27:03:00")
        for unknown in [nil, -1, .nan, .infinity] as [Double?] { XCTAssertEqual(ProgressFormat.clock(unknown), "-:--:--") }
        XCTAssertEqual(ProgressFormat.bar(fraction: 0.5, width: 10), "[#####-----]")
        XCTAssertEqual(ProgressFormat.bar(fraction: 0.99, width: 4), "[###-]")
        XCTAssertEqual(ProgressFormat.bar(fraction: 2, width: 3), "[###]")
        XCTAssertEqual(ProgressFormat.bar(fraction: .nan, width: 3), "[---]")
    }

    func testTerminalAndLogLines() {
        let tail = "1234/2814 loss 1.2345 acc 56.7% 63.2 img/s ETA 0:12:34"
        XCTAssertEqual(ProgressFormat.terminalLine(snap, columns: 120),
                       "epoch 2/6 [#############-----------------] " + tail) // 30 cells, 43.9 % done
        XCTAssertEqual(ProgressFormat.terminalLine(snap, columns: 80), "epoch 2/6 [#####-------] " + tail) // fits 79
        XCTAssertEqual(ProgressFormat.terminalLine(snap, columns: 80).count, 79)
        XCTAssertEqual(ProgressFormat.terminalLine(snap, columns: 66), "epoch 2/6 " + tail) // no room for a bar
        XCTAssertEqual(ProgressFormat.terminalLine(snap, columns: 30), "epoch 2/6 1234/2814 loss 1.23")
        XCTAssertEqual(ProgressFormat.terminalLine(snap, columns: 200, barWidth: 10), "epoch 2/6 [####------] " + tail)
        XCTAssertEqual(ProgressFormat.logLine(snap),
                       "epoch 2/6 step 1234/2814 (43.9%) loss 1.2345 acc 56.7% 63.2 img/s elapsed 0:15:00 ETA 0:12:34")
        let empty = ProgressSnapshot(epoch: 1, epochs: 3, step: 0, totalSteps: 0)
        XCTAssertEqual(ProgressFormat.logLine(empty), "epoch 1/3 step 0/0 (0.0%) loss - acc - - img/s elapsed 0:00:00 ETA -:--:--")
    }

    func testReporterOnTerminalRedrawsAtMostTenTimesASecond() {
        var t = 100.0
        var out: [String] = []
        let r = ProgressReporter(epochs: 1, totalSteps: 100, isTerminal: true, output: { out.append($0) }, now: { t }, columns: { 100 })
        t = 100.5; r.update(epoch: 1, step: 1, loss: 2.3, accuracy: 10, images: 128)
        t = 100.55; r.update(epoch: 1, step: 2, loss: 2.2, accuracy: 10, images: 256)
        t = 100.65; r.update(epoch: 1, step: 3, loss: 2.1, accuracy: 20, images: 384)
        XCTAssertEqual(out.count, 2)
        XCTAssertTrue(out.allSatisfy { $0.hasPrefix("\r") && $0.hasSuffix("\u{1B}[K") && !$0.contains("\n") })
        // 0.65 s for 3 steps: 590.8 images/s, 97 steps left take 21 s.
        XCTAssertTrue(out[1].contains("3/100 loss 2.1000 acc 20.0% 590.8 img/s ETA 0:00:21"), out[1])
        r.message("epoch 1: test accuracy 50.0%")
        XCTAssertEqual(out[2], "\r\u{1B}[Kepoch 1: test accuracy 50.0%\n")
        XCTAssertEqual(out[3], out[1])
        t = 100.66; r.update(epoch: 1, step: 100, loss: 1.0, accuracy: 50, images: 12_800) // last step always drawn
        XCTAssertTrue(out[4].contains("100/100"))
        r.finish()
        XCTAssertEqual(out.last, "\n")
        XCTAssertEqual(out.count, 6)
    }

    func testReporterInLogsWritesEveryInterval() {
        var t = 0.0
        var out: [String] = []
        let r = ProgressReporter(epochs: 2, totalSteps: 1000, startStep: 500, isTerminal: false, logInterval: 30,
                                 output: { out.append($0) }, now: { t })
        t = 1; r.update(epoch: 2, step: 501, loss: 1, accuracy: 50, images: 64)
        t = 10; r.update(epoch: 2, step: 510, loss: 1, accuracy: 50, images: 640)
        t = 31.5; r.update(epoch: 2, step: 530, loss: 1, accuracy: 50, images: 1920)
        t = 40; r.update(epoch: 2, step: 540, loss: 0.9, accuracy: 60, images: 2560)
        XCTAssertEqual(out.count, 2)
        XCTAssertTrue(out.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") })
        // Resumed at 500: 30 steps in 31.5 s, 470 left.
        XCTAssertTrue(out[1].contains("step 530/1000 (53.0%)") && out[1].contains("elapsed 0:00:32 ETA 0:08:14"), out[1])
        r.finish() // the step-540 state was not shown yet
        XCTAssertEqual(out.count, 3)
        XCTAssertTrue(out[2].contains("step 540/1000") && out[2].contains("loss 0.9000 acc 60.0% 64.0 img/s"), out[2])
        r.message("done")
        XCTAssertEqual(out.last, "done\n")
    }

    // MARK: - JSONLinesLog

    func testJSONEncoding() throws {
        let fields: [String: Any] = ["b": 1, "a": "x\"y\n\\\u{1}", "c": 0.5, "d": Float(0.1), "e": Double.nan, "f": true,
                                     "g": [1, 2.5, "s"] as [Any], "h": ["z": 1, "y": Optional<Int>.none as Any] as [String: Any],
                                     "i": Int32(-3), "j": Float.infinity, "k": Optional<Double>.some(1e-5) as Any]
        let line = JSONLinesLog.encode(fields)
        XCTAssertEqual(line, #"{"a":"x\"y\n\\\u0001","b":1,"c":0.5,"d":0.1,"e":null,"f":true,"g":[1,2.5,"s"],"h":{"y":null,"z":1},"i":-3,"j":null,"k":1e-05}"#)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(parsed["a"] as? String, "x\"y\n\\\u{1}")
        XCTAssertEqual(parsed.count, 11)
    }

    func testJSONLinesLogAppends() throws {
        let path = NSTemporaryDirectory() + "tokenscope-log-\(UUID().uuidString).jsonl"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        do {
            let log = try JSONLinesLog(path: path)
            XCTAssertTrue(log.write(["step": 1, "loss": 2.25]))
            XCTAssertTrue(log.write(["step": 2, "loss": 2.0]))
            // Flushed per line: readable before the log is closed.
            XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"loss\":2.25,\"step\":1}\n{\"loss\":2.0,\"step\":2}\n")
        }
        try JSONLinesLog(path: path).write(["step": 3])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[2], "{\"step\":3}")
        assertThrowsMessage(try JSONLinesLog(path: NSTemporaryDirectory() + "no-such-dir-\(UUID().uuidString)/log.jsonl"),
                            contains: ["cannot open log", "No such file or directory"])
    }
}
