import Foundation
import XCTest

/// The model TokenScope ships (assets/models/fmnist-vit.safetensors), measured by the release
/// binary: top-1 on the first 2,000 Fashion-MNIST test images must be at least 90.5 %, and the
/// sample PNGs must classify through the PNG path the same way the IDX path does.
final class ShippedModelTests: XCTestCase {
    static let model = CLI.root.appendingPathComponent("assets/models/fmnist-vit.safetensors").path
    static let data = "/usr/share/datasets/fashion-mnist"

    func requireModel() throws {
        guard FileManager.default.fileExists(atPath: Self.model) else {
            throw XCTSkip("the shipped model is not trained yet (assets/models/fmnist-vit.safetensors)")
        }
        guard FileManager.default.fileExists(atPath: Self.data) else {
            throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        }
    }

    func testAccuracyOnTestImages() throws {
        try requireModel()
        let o = try CLI.run(["eval", "--model", Self.model, "--limit", "2000", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["images"] as? Int, 2000)
        let top1 = obj?["top1"] as? Double ?? 0
        XCTAssertGreaterThanOrEqual(top1, 90.5, "shipped model top-1 on 2000 test images")
    }

    func testSamplePNGsClassify() throws {
        try requireModel()
        let dir = CLI.root.appendingPathComponent("assets/images")
        let lines = try String(contentsOf: dir.appendingPathComponent("labels.txt"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 10)
        let files = lines.map { dir.appendingPathComponent(String($0.split(separator: "\t")[0])).path }
        let o = try CLI.run(["infer", "--model", Self.model, "--json"] + files)
        XCTAssertEqual(o.status, 0, o.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [[String: Any]] ?? []
        var correct = 0
        for (row, line) in zip(rows, lines) {
            let label = Int(line.split(separator: "\t")[1]) ?? -1
            let top = (row["top5"] as? [[String: Any]])?.first?["class"] as? Int
            if top == label { correct += 1 }
        }
        XCTAssertGreaterThanOrEqual(correct, 8, "sample images classified correctly")
    }
}
