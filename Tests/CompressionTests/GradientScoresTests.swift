import Foundation
import XCTest
import Compression
import Engine

/// Gradient-weighted attention scores against the official formula applied by PyTorch (vit-s8
/// fixture's `score.{i}`), and the no-label path (own top-1) against an explicit label.
final class GradientScoresTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    override class func setUp() { BLAS.configure() }

    func testScoresMatchOfficialFormula() throws {
        let model = try ViTModel(path: Self.fixtures.appendingPathComponent("vit-s8.safetensors").path)
        let ref = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("vit-s8.reference.safetensors").path)
        let scorer = GradientScorer(model: model, batch: 2, workers: 2)
        // The plain weights, then the weights packed for both passes (what the explorer runs).
        for packed in [false, true] {
            if packed {
                model.packWeights(forBackward: true)
                // A shape runs packed once it has come back a few times (MatMulThreadCache).
                for _ in 0..<3 { _ = scorer.score(images: try ref.floats("input"), batch: 2) }
            }
            let r = scorer.score(images: try ref.floats("input"), batch: 2, labels: try ref.floats("labels").map { Int32($0) })
            XCTAssertEqual(r.loss, Double(try ref.floats("loss")[0]), accuracy: 1e-5)
            for l in 0..<3 {
                let expected = try ref.floats("score.\(l)")
                for j in expected.indices {
                    XCTAssertEqual(r.scores[l][j], expected[j], accuracy: max(1e-4 * abs(expected[j]), 1e-9), "score.\(l)[\(j)] packed \(packed)")
                }
            }
        }
    }

    func testWithoutLabelsUsesTopOne() throws {
        let model = try ViTModel(path: Self.fixtures.appendingPathComponent("vit-s8.safetensors").path)
        let input = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("vit-s8.reference.safetensors").path).floats("input")
        let scorer = GradientScorer(model: model, batch: 1)
        let first = Array(input[0..<(3 * 32 * 32)])
        let auto = scorer.score(images: first, batch: 1)
        let top = auto.logits.indices.max { auto.logits[$0] < auto.logits[$1] }!
        XCTAssertEqual(auto.labels, [Int32(top)])
        let explicit = scorer.score(images: first, batch: 1, labels: [Int32(top)])
        XCTAssertEqual(auto.scores, explicit.scores)
        let other = scorer.score(images: first, batch: 1, labels: [Int32((top + 1) % 10)])
        XCTAssertNotEqual(other.scores, auto.scores, "the label changes the gradient and so the scores")
    }
}
