import Foundation
import XCTest
@testable import Compression
import Engine

/// Both recovery modes against a naive Double forward written from their formulas, on matrices that
/// are not a plan's (dense random merge and recover, as after fine-tuning):
///
///     official: out = R block(M x) + x * (1 - mask)
///     update:   out = x + R (block(M x) - M x)
///
/// and the mode's round trip through the file's metadata.
final class PMRecoveryTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    func randomPM(_ recovery: PMRecovery) throws -> PMModel {
        let dense = try tinyModel(seed: 21)
        let c = dense.config, n = c.tokens
        var rng = SplitMix64(seed: 5)
        let blocks = [(1, 9), (2, 6)].map { block, ch in
            PMBlock(block: block, tokens: n, channels: ch,
                    tokenMask: (0..<n).map { $0 % 3 == 2 ? 0 : 1 },
                    merge: (0..<(ch * n)).map { _ in rng.nextUniform() * 0.4 - 0.1 },
                    recover: (0..<(n * ch)).map { _ in rng.nextUniform() * 0.4 - 0.1 },
                    bias: [Float](repeating: 0, count: ch), layout: nil)
        }
        return try PMModel(dense: dense, blocks: blocks, recovery: recovery)
    }

    func naiveLogits(_ pm: PMModel, image: [Float]) -> [Double] {
        let v = NaiveViT(pm.dense), c = pm.dense.config, n = c.tokens, d = c.dim
        var x = v.embed(image)
        for l in 0..<c.depth {
            guard let b = pm.blocks[l] else { x = v.mlp(l, v.attention(l, x, bias: nil).x); continue }
            let m: [[Double]] = (0..<b.channels).map { r in
                (0..<d).map { e in (0..<n).reduce(0.0) { $0 + Double(b.merge[r * n + $1]) * x[$1][e] } }
            }
            var y = v.mlp(l, v.attention(l, m, bias: nil).x)
            if pm.recovery == .update { for r in y.indices { for e in 0..<d { y[r][e] -= m[r][e] } } }
            x = (0..<n).map { t in
                let keep: Double = pm.recovery == .update ? 1 : 1 - Double(b.tokenMask[t])
                return (0..<d).map { e in
                    keep * x[t][e] + (0..<b.channels).reduce(0.0) { $0 + Double(b.recover[t * b.channels + $1]) * y[$1][e] }
                }
            }
        }
        return v.head(x)
    }

    func testBothModesMatchTheNaiveForward() throws {
        for mode in PMRecovery.allCases {
            let pm = try randomPM(mode)
            let c = pm.dense.config
            let images = randomImages(2, c, seed: 3)
            let f = PMForward(model: pm, batch: 2)
            images.withUnsafeBufferPointer { f.forward(images: $0.baseAddress!, batch: 2, workers: 2) }
            let got = f.logits(batch: 2)
            let per = c.channels * c.imageSize * c.imageSize
            let want = (0..<2).flatMap { naiveLogits(pm, image: Array(images[($0 * per)..<(($0 + 1) * per)])) }
            XCTAssertLessThan(maxAbsDiff(got, want), 1e-4, "\(mode)")
        }
        // The two modes really differ on these matrices.
        let a = try randomPM(.official), b = try randomPM(.update)
        let img = randomImages(1, a.dense.config, seed: 3)
        XCTAssertGreaterThan(maxAbsDiff(naiveLogits(a, image: img).map(Float.init), naiveLogits(b, image: img)), 1e-3)
    }

    func testModeRoundTripsThroughTheFileAndUnknownModesAreRefused() throws {
        let path = NSTemporaryDirectory() + "tokenscope-recovery-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for mode in PMRecovery.allCases {
            try randomPM(mode).save(to: path, metadata: [:])
            XCTAssertEqual(try PMModel(path: path).recovery, mode)
        }
        // Official files carry no key at all.
        try randomPM(.official).save(to: path, metadata: [:])
        XCTAssertNil(try SafeTensorsFile(path: path).metadata["recovery"])
        try randomPM(.update).save(to: path, metadata: ["recovery": "sideways"])
        XCTAssertEqual(try SafeTensorsFile(path: path).metadata["recovery"], "update", "the model's mode wins over stale metadata")
        XCTAssertThrowsError(try PMRecovery.from(metadata: ["recovery": "sideways"], path: "x.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("sideways"), "\(e)")
        }
    }
}
