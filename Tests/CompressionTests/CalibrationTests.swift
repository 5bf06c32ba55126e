import Foundation
import XCTest
import Compression
import Engine

/// Accumulated scores are the sum of per-batch absolute scores (the per-batch score itself is
/// checked against PyTorch in GradientScoresTests), and the ranks file round trip with its shape
/// checks. The pm-p8 fixture's `seq_ranks` are not reproducible from pm-p8.dense: the official
/// ranking pass lets the optimiser step while it collects them (methods notes, quirk 7), so they
/// were summed over drifting weights; the numbers here differ from them by up to ~40 %.
final class CalibrationTests: XCTestCase {
    let dir = GradientScoresTests.fixtures

    func testSeqRanksAreSummedPerBatchAbsoluteScores() throws {
        let model = try ViTModel(path: dir.appendingPathComponent("pm-p8.dense.safetensors").path)
        let ref = try SafeTensorsFile(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path)
        let images = try ref.floats("calib_input"), labels = try ref.floats("calib_labels").map { Int32($0) }
        let per = 3 * 64 * 64
        let cal = Calibration.run(model: model, count: 24, batch: 4, workers: 2) { start, n, img, lab in
            for i in 0..<n {
                for e in 0..<per { img[i * per + e] = images[(start + i) * per + e] }
                lab[i] = labels[start + i]
            }
        }
        XCTAssertEqual(cal.batches, 6)
        XCTAssertEqual(cal.images, 24)
        let scorer = GradientScorer(model: model, batch: 4)
        var sum = [[Double]](repeating: [Double](repeating: 0, count: 64), count: 4)
        for b in 0..<6 {
            let r = scorer.score(images: Array(images[(b * 4 * per)..<((b + 1) * 4 * per)]), batch: 4,
                                 labels: Array(labels[(b * 4)..<(b * 4 + 4)]))
            // Absolute per batch, so signs never cancel across batches.
            XCTAssertTrue(r.scores.allSatisfy { $0.allSatisfy { $0 >= 0 } })
            for l in 0..<4 { for j in 0..<64 { sum[l][j] += Double(r.scores[l][j]) } }
        }
        for l in 0..<4 { for j in 0..<64 { XCTAssertEqual(cal.seqRanks[l][j], sum[l][j], accuracy: 1e-12) } }
        let path = NSTemporaryDirectory() + "tokenscope-ranks-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try cal.save(to: path, metadata: ["model": "pm-p8.dense"])
        let back = try Calibration.load(path: path, for: model.config)
        XCTAssertEqual(back.count, 4)
        XCTAssertEqual(back[2][5], Double(Float(cal.seqRanks[2][5])))
        // The fixture's own ranks load as they are (no metadata needed).
        XCTAssertNoThrow(try Calibration.load(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path, for: model.config))
    }

    func testRanksForAnotherModelAreRefused() throws {
        let vit = try ViTModel(path: dir.appendingPathComponent("vit-s8.safetensors").path)
        XCTAssertThrowsError(try Calibration.load(path: dir.appendingPathComponent("pm-p8.reference.safetensors").path, for: vit.config)) { e in
            XCTAssertTrue("\(e)".contains("expected [16]"), "\(e)")
        }
    }
}
