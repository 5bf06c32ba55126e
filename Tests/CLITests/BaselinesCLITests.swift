import Engine
import Foundation
import XCTest

/// `--method tome` and `--method evit` in infer, eval and bench, end to end on the fixtures and on a
/// tiny Fashion-MNIST-shaped model; bad values give one line on stderr and a non-zero exit.
final class BaselinesCLITests: XCTestCase {
    /// A random 1x28x28 model (dim 64, 3 blocks, patch 4: 50 tokens) and 40 IDX test images.
    func makeModelAndData() throws -> (model: String, data: String) {
        let dir = CLI.temp("baselines")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let m = try ViTModel(config: ViTConfig(imageSize: 28, patchSize: 4, channels: 1, dim: 64, depth: 3, heads: 2, numClasses: 10))
        m.initializeForTraining(seed: 3)
        try m.save(to: "\(dir)/tiny.safetensors")
        var rng = SplitMix64(seed: 4)
        let n = 40
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        var images: [UInt8] = [0, 0, 8, 3] + be(n) + be(28) + be(28)
        var labels: [UInt8] = [0, 0, 8, 1] + be(n)
        for i in 0..<n {
            for _ in 0..<(28 * 28) { images.append(UInt8(rng.next() % 256)) }
            labels.append(UInt8(i % 10))
        }
        try Data(images).write(to: URL(fileURLWithPath: "\(dir)/t10k-images-idx3-ubyte"))
        try Data(labels).write(to: URL(fileURLWithPath: "\(dir)/t10k-labels-idx1-ubyte"))
        return ("\(dir)/tiny.safetensors", dir)
    }

    func json(_ o: CLI.Output) throws -> [String: Any] {
        XCTAssertEqual(o.status, 0, o.stderr)
        return try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func testEvalRunsBothBaselines() throws {
        let (model, data) = try makeModelAndData()
        let dense = try json(try CLI.run(["eval", "--model", model, "--data", data, "--json"]))
        XCTAssertEqual(dense["method"] as? String, "dense")
        let tome = try json(try CLI.run(["eval", "--model", model, "--data", data, "--json", "--method", "tome", "--r", "4"]))
        XCTAssertEqual(tome["method"] as? String, "tome")
        XCTAssertEqual(tome["images"] as? Int, 40)
        XCTAssertEqual(tome["tokens_per_block"] as? [Int], [46, 42, 38])
        // ToMe's (r, inflect) schedule: r 4, inflect -1 merges 8, 4, 0 (parse_r).
        let falling = try json(try CLI.run(["eval", "--model", model, "--data", data, "--json", "--method", "tome", "--r", "4", "--inflect", "-1"]))
        XCTAssertEqual(falling["tokens_per_block"] as? [Int], [42, 38, 38])
        XCTAssertLessThan(tome["gflops_per_image"] as? Double ?? 1, dense["gflops_per_image"] as? Double ?? 0)
        for key in ["top1", "loss", "gflops_official", "gflops_dense", "images_per_s", "kind"] { XCTAssertNotNil(tome[key], key) }
        let evit = try json(try CLI.run(["eval", "--model", model, "--data", data, "--json", "--method", "evit", "--keep-rate", "0.7"]))
        XCTAssertEqual(evit["method"] as? String, "evit")
        // 49 candidates: blocks 0, 1, 2 (depth 3) keep ceil(0.7 * 49) = 35, then ceil(0.7 * 36) = 26, then
        // ceil(0.7 * 27) = 19, each plus CLS and the fused token.
        XCTAssertEqual(evit["tokens_per_block"] as? [Int], [37, 28, 21])
        let blocks = try json(try CLI.run(["eval", "--model", model, "--data", data, "--json", "--method", "evit", "--blocks", "1"]))
        XCTAssertEqual(blocks["tokens_per_block"] as? [Int], [50, 37, 37])
    }

    func testInferAndBenchRunBothBaselines() throws {
        let model = CLI.fixture("vit-s8.safetensors"), input = CLI.fixture("vit-s8.reference.safetensors")
        let out = CLI.temp("tome-infer.safetensors")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let t = try CLI.run(["infer", "--model", model, "--input", input, "--json", "--method", "tome", "--r", "2", "--out", out, "--attention"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(t.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(rows?.count, 2)
        let f = try SafeTensorsFile(path: out)
        XCTAssertEqual(f.entries["logits"]?.shape, [2, 10])
        XCTAssertEqual(f.entries["tokens.2"]?.shape, [2, 17, 48], "tokens unmerged to the full grid")
        XCTAssertNil(f.entries["attn.0"])
        let e = try CLI.run(["infer", "--model", model, "--input", input, "--json", "--method", "evit", "--keep-rate", "0.7"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let b = try json(try CLI.run(["bench", "--model", model, "--seconds", "0.2", "--json", "--method", "tome", "--r", "1,2,3"]))
        XCTAssertEqual(b["method"] as? String, "tome")
        XCTAssertEqual(b["kind"] as? String, "tome")
        let a = try json(try CLI.run(["bench", "--arch", "16,3,2,16,4,1,5", "--seconds", "0.2", "--json", "--method", "evit"]))
        XCTAssertEqual(a["method"] as? String, "evit")
    }

    /// PiToMe at its ratio and DiffRate at its published schedule (rescaled to the tiny model's 49
    /// patches and 3 blocks: blocks 3, 7 and 11 of the 12, patch counts x 49/196), a schedule file
    /// driving ToMe, EViT and DiffRate alike, and the export of both new methods.
    func testEvalRunsPiToMeDiffRateAndScheduleFiles() throws {
        let (model, data) = try makeModelAndData()
        let base = ["eval", "--model", model, "--data", data, "--json"]
        let pitome = try json(try CLI.run(base + ["--method", "pitome", "--ratio", "0.9"]))
        XCTAssertEqual(pitome["method"] as? String, "pitome")
        XCTAssertEqual(pitome["tokens_per_block"] as? [Int], [46, 42, 38], "int(T - 0.9 T) of 49, 45, 41")
        let diffrate = try json(try CLI.run(base + ["--method", "diffrate"]))
        XCTAssertEqual(diffrate["tokens_per_block"] as? [Int], [40, 28, 2])
        let file = CLI.temp("schedule.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(#"{"tokens": [45, 40, 30]}"#.utf8).write(to: URL(fileURLWithPath: file))
        for method in ["tome", "evit", "diffrate"] {
            let o = try json(try CLI.run(base + ["--method", method, "--schedule", file]))
            XCTAssertEqual(o["tokens_per_block"] as? [Int], [45, 40, 30], method)
        }
        let image = CLI.fixtures.appendingPathComponent("../../assets/images/00-t-shirt-top.png").standardized.path
        for method in ["pitome", "diffrate"] {
            let e = try CLI.run(["export", image, "--model", model, "--method", method, "--format", "json"])
            XCTAssertEqual(e.status, 0, e.stderr)
            let o = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any] ?? [:]
            let layers = o["layers"] as? [[String: Any]] ?? []
            XCTAssertEqual(layers.count, 3, method)
            XCTAssertTrue(e.stdout.contains(method == "diffrate" ? "\"discarded\"" : "\"merged\""), method)
        }
        assertCleanFailure(try CLI.run(base + ["--method", "pitome", "--r", "2"]), ["--r is not a setting of --method pitome", "add --method tome"])
        assertCleanFailure(try CLI.run(base + ["--method", "pitome", "--ratio", "0.3"]), ["--ratio must be in [0.5, 1]"])
        assertCleanFailure(try CLI.run(base + ["--method", "diffrate", "--schedule", file + ".missing"]), ["cannot read the schedule"])
        try Data(#"{"tokens": [45, 40]}"#.utf8).write(to: URL(fileURLWithPath: file))
        assertCleanFailure(try CLI.run(base + ["--method", "diffrate", "--schedule", file]), ["2 prune and 2 merge counts", "3 blocks"])
        try Data("not json".utf8).write(to: URL(fileURLWithPath: file))
        assertCleanFailure(try CLI.run(base + ["--method", "tome", "--schedule", file]), ["not a JSON object"])
    }

    func testBadValuesGiveOneLine() throws {
        let model = CLI.fixture("vit-s8.safetensors"), input = CLI.fixture("vit-s8.reference.safetensors")
        let base = ["infer", "--model", model, "--input", input, "--json"]
        assertCleanFailure(try CLI.run(base + ["--method", "tome", "--r", "-1"]), ["--r", "at least 0"])
        assertCleanFailure(try CLI.run(base + ["--method", "tome", "--r", "two"]), ["--r wants integers"])
        assertCleanFailure(try CLI.run(base + ["--method", "tome"]), ["--method tome needs --r"])
        assertCleanFailure(try CLI.run(base + ["--method", "tome", "--r", "1,1,1,1"]), ["4 values of r", "3 blocks"])
        assertCleanFailure(try CLI.run(base + ["--r", "2"]), ["add --method tome"])
        assertCleanFailure(try CLI.run(base + ["--method", "tome", "--r", "2", "--inflect", "2"]), ["--inflect must be in [-1, 1]"])
        assertCleanFailure(try CLI.run(base + ["--method", "tome", "--r", "1,2", "--inflect", "0.5"]), ["single --r"])
        assertCleanFailure(try CLI.run(base + ["--inflect", "0.5"]), ["add --method tome"])
        assertCleanFailure(try CLI.run(base + ["--method", "evit", "--keep-rate", "0"]), ["--keep-rate must be in (0, 1]"])
        assertCleanFailure(try CLI.run(base + ["--method", "evit", "--keep-rate", "1.5"]), ["--keep-rate must be in (0, 1]"])
        assertCleanFailure(try CLI.run(base + ["--method", "evit", "--keep-rate", "-0.5"]), ["--keep-rate must be in (0, 1]"])
        assertCleanFailure(try CLI.run(base + ["--method", "evit", "--blocks", "1,3"]), ["block 3 is out of range", "3 blocks"])
        assertCleanFailure(try CLI.run(base + ["--keep-rate", "0.5"]), ["add --method evit"])
        assertCleanFailure(try CLI.run(base + ["--method", "fast"]), ["fast"])
        // Baselines run on dense files; a Prune and Merge file is refused.
        let pm = ["infer", "--model", CLI.fixture("pm-p8.safetensors"), "--input", CLI.fixture("pm-p8.reference.safetensors"), "--json"]
        assertCleanFailure(try CLI.run(pm + ["--method", "tome", "--r", "2"]), ["Prune and Merge file"])
        assertCleanFailure(try CLI.run(pm + ["--method", "evit"]), ["Prune and Merge file"])
        assertCleanFailure(try CLI.run(base + ["--method", "pm"]), ["no merge matrices"])
        assertCleanFailure(try CLI.run(["bench", "--model", model, "--seconds", "0.2", "--method", "tome", "--r", "2", "--backward"]),
                           ["time dense models"])
        assertCleanFailure(try CLI.run(["eval", "--model", model, "--method", "evit", "--keep-rate", "2"]), ["--keep-rate"])
    }

    func testScoresAreForDenseModelsOnly() throws {
        let img = CLI.fixture("images/pp_a.png")
        assertCleanFailure(try CLI.run(["infer", "--model", CLI.fixture("vit-s8.safetensors"), "--method", "tome", "--r", "2", img,
                                        "--scores", "--out", CLI.temp("s.safetensors")]), ["dense", "--method tome"])
        assertCleanFailure(try CLI.run(["infer", "--model", CLI.fixture("pm-p8.safetensors"), img, "--scores",
                                        "--out", CLI.temp("s.safetensors")]), ["dense", "--method pm"])
    }
}
