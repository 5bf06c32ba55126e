import Foundation
import XCTest
@testable import Compression
import Engine

/// The spatial probe: foreground labels, logistic regression, mIoU and its file.
final class PatchProbeTests: XCTestCase {
    func testForegroundIsMoreThanHalfThePatchAboveThreshold() {
        // 4x4 image, 2x2 patches: top-left patch 3 of 4 bright, top-right 2 of 4 (not more than half),
        // bottom-left all bright but at the threshold (not above), bottom-right 4 of 4.
        let img: [UInt8] = [200, 200, 200, 0,
                            200, 0, 200, 0,
                            64, 64, 255, 255,
                            64, 64, 255, 255]
        XCTAssertEqual(img.withUnsafeBufferPointer { PatchProbe.foreground(pixels: $0.baseAddress!, size: 4, patch: 2, threshold: 64) },
                       [1, 0, 0, 1])
    }

    func testMIoUByHand() {
        var c = PatchProbe.Confusion()
        c.add(predicted: [1, 1, 0, 0], truth: [1, 0, 0, 0])
        // background: intersection {2,3}, union {1,2,3} -> 2/3; foreground: {0} / {0,1} -> 1/2.
        XCTAssertEqual(c.miou, 100 * (2.0 / 3 + 0.5) / 2, accuracy: 1e-9)
        var perfect = PatchProbe.Confusion()
        perfect.add(predicted: [0, 1], truth: [0, 1])
        XCTAssertEqual(perfect.miou, 100)
    }

    func testLogisticRegressionSeparatesASeparableSet() {
        // Label = (2 x0 - x1 + 0.3 > 0) on 2000 random 4-d points; the probe must find it.
        var rng = SplitMix64(seed: 7)
        let n = 2000, d = 4
        var f = [Float](), y = [UInt8]()
        for _ in 0..<n {
            let x = (0..<d).map { _ in Float(rng.nextUniform()) * 2 - 1 }
            let margin = 2 * x[0] - x[1] + 0.3
            if abs(margin) < 0.05 { continue }  // a margin, so perfect separation is reachable
            f += x; y.append(margin > 0 ? 1 : 0)
        }
        let probe = PatchProbe.train(features: f, labels: y, dim: d, steps: 400, lr: 0.1, decay: 0)
        let pred = f.withUnsafeBufferPointer { probe.predict($0.baseAddress!, count: y.count) }
        let wrong = zip(pred, y).filter { $0 != $1 }.count
        XCTAssertLessThanOrEqual(wrong, y.count / 200, "at most 0.5 % wrong on a separable set")
        // The direction found is the true one (2, -1, 0, 0), up to scale.
        let w = probe.weight
        XCTAssertGreaterThan(w[0], 0); XCTAssertLessThan(w[1], 0)
        XCTAssertEqual(Double(w[0] / -w[1]), 2, accuracy: 0.35)
        XCTAssertLessThan(abs(w[2]) + abs(w[3]), 0.3 * abs(w[0]))
    }

    func testFileRoundTripAndShapeCheck() throws {
        let p = PatchProbe(weight: [0.5, -1, 2], bias: 0.25)
        let path = NSTemporaryDirectory() + "probe-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try p.save(to: path, metadata: ["model": "toy"])
        XCTAssertEqual(try PatchProbe.load(path: path, dim: 3), p)
        XCTAssertThrowsError(try PatchProbe.load(path: path, dim: 4)) { e in
            XCTAssertTrue("\(e)".contains("[1, 4]"), "\(e)")
        }
    }
}
