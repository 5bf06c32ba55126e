import Engine
import Foundation
import XCTest

/// train -> eval -> calibrate -> compress -> finetune (interrupted and resumed) -> eval, end to end on
/// a small synthetic IDX set, plus the commands' answers to bad input.
final class PipelineCLITests: XCTestCase {
    /// 600 training and 200 test 28x28 images; the class (0-9) sets the brightness of a noisy image
    /// (robust to the training crop and flip, so a tiny model learns it in seconds).
    func makeData() throws -> String {
        let dir = CLI.temp("idx")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 1)
        for (split, n) in [("train", 600), ("t10k", 200)] {
            var images: [UInt8] = [0, 0, 8, 3] + be(n) + be(28) + be(28)
            var labels: [UInt8] = [0, 0, 8, 1] + be(n)
            for i in 0..<n {
                let c = i % 10
                for _ in 0..<(28 * 28) { images.append(UInt8(10 + 22 * c + Int(rng.next() % 20))) }
                labels.append(UInt8(c))
            }
            try Data(images).write(to: URL(fileURLWithPath: "\(dir)/\(split)-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: "\(dir)/\(split)-labels-idx1-ubyte"))
        }
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    /// Runs a command that must succeed.
    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLI.Output {
        let o = try CLI.run(args)
        XCTAssertEqual(o.status, 0, "\(args.prefix(2)): \(o.stderr)", file: file, line: line)
        return o
    }

    func json(_ o: CLI.Output) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// `--validation-images N` trains on the first 600 - N images and scores the last N after each
    /// epoch; `eval --split validation` scores the same images, checked against an IDX folder holding
    /// exactly those images (written here) as its test split. `eval --record` writes the score into
    /// the file without touching its tensors.
    func testValidationHoldOut() throws {
        let data = try makeData()
        let out = "\(data)/held.safetensors"
        let t = try run(["train", "--data", data, "--epochs", "2", "--config", "dim=16,depth=2,heads=2,patch=4", "--batch-size", "50",
                         "--lr", "3e-3", "--warmup", "5", "--validation-images", "100", "--test-images", "0", "--out", out])
        XCTAssertTrue(t.stderr.contains("on 500 images (100 held out for validation)"), t.stderr)
        let meta = try SafeTensorsFile(path: out).metadata
        XCTAssertNil(meta["test_top1"], "--test-images 0: the test set stays unseen")
        XCTAssertEqual(meta["validation_images"], "100")
        let epochs = try String(contentsOfFile: "\(data)/held.log.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.count, 2)
        XCTAssertTrue(epochs.allSatisfy { $0["val_top1"] != nil && $0["test_top1"] == nil }, "\(epochs)")

        // The last 100 training images as the test split of a folder of their own.
        let heldDir = CLI.temp("idx-held")
        try FileManager.default.createDirectory(atPath: heldDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: heldDir) }
        let images = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(data)/train-images-idx3-ubyte")))
        let labels = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(data)/train-labels-idx1-ubyte")))
        try Data([0, 0, 8, 3] + be(100) + be(28) + be(28) + images.suffix(100 * 28 * 28)).write(to: URL(fileURLWithPath: "\(heldDir)/t10k-images-idx3-ubyte"))
        try Data([0, 0, 8, 1] + be(100) + labels.suffix(100)).write(to: URL(fileURLWithPath: "\(heldDir)/t10k-labels-idx1-ubyte"))
        let reference = try json(try run(["eval", "--model", out, "--data", heldDir, "--json"]))
        let validation = try json(try run(["eval", "--model", out, "--data", data, "--split", "validation", "--validation-images", "100", "--json"]))
        XCTAssertEqual(validation["images"] as? Int, 100)
        XCTAssertEqual(validation["split"] as? String, "validation")
        XCTAssertEqual(validation["top1"] as? Double, reference["top1"] as? Double)
        XCTAssertEqual(meta["validation_top1"], String(format: "%.2f", reference["top1"] as? Double ?? -1))
        XCTAssertEqual(epochs.last?["val_top1"] as? Double ?? -1, reference["top1"] as? Double ?? -2, accuracy: 1e-9)

        // --record: the test score goes into the metadata, the tensors stay as they were.
        let before = try SafeTensorsFile(path: out)
        let test = try json(try run(["eval", "--model", out, "--data", data, "--record", "--json"]))
        let after = try SafeTensorsFile(path: out)
        XCTAssertEqual(after.metadata["test_top1"], String(format: "%.2f", test["top1"] as? Double ?? -1))
        XCTAssertEqual(after.metadata["test_images"], "200")
        XCTAssertEqual(after.metadata["validation_top1"], meta["validation_top1"])
        XCTAssertEqual(after.names, before.names)
        for name in before.names { XCTAssertEqual(try after.floats(name), try before.floats(name), name) }

        assertCleanFailure(try CLI.run(["eval", "--model", out, "--data", data, "--record", "--limit", "10"]), ["--record", "--limit"])
        assertCleanFailure(try CLI.run(["eval", "--model", out, "--data", data, "--split", "validation", "--validation-images", "600"]),
                           ["--validation-images 600", "only 600"])
        assertCleanFailure(try CLI.run(["train", "--data", data, "--epochs", "1", "--validation-images", "600", "--out", "\(data)/x.safetensors"]),
                           ["--validation-images 600", "all 600"])
        assertCleanFailure(try CLI.run(["finetune", "--model", out, "--teacher", out, "--data", data, "--validation-images", "100",
                                        "--train-images", "550", "--out", "\(data)/x.safetensors"]), ["--train-images 550", "500"])
    }

    /// `finetune --method tome|evit`: a dense model trained under the method, stopped and resumed;
    /// the file records the method, so it runs under it by default, and `--method dense` runs its
    /// weights without it. What it refuses, with one line each.
    func testFineTuningUnderAMethod() throws {
        let data = try makeData()
        let dense = "\(data)/dense.safetensors"
        _ = try run(["train", "--data", data, "--epochs", "3", "--config", "dim=16,depth=4,heads=2,patch=4", "--batch-size", "50",
                     "--lr", "3e-3", "--warmup", "5", "--test-images", "0", "--out", dense])
        for (name, method) in [("tome", ["--method", "tome", "--r", "3"]), ("evit", ["--method", "evit", "--keep-rate", "0.5", "--blocks", "1,2"])] {
            let out = "\(data)/\(name)-ft.safetensors"
            let ft = ["finetune", "--model", dense, "--teacher", dense, "--data", data, "--epochs", "1", "--batch-size", "50",
                      "--test-images", "200", "--out", out]
            let before = try json(try run(["eval", "--model", dense, "--data", data, "--json"] + method))
            let first = try run(ft + method + ["--max-steps", "4"])
            XCTAssertTrue(first.stdout.contains("stopped after 4 steps"), first.stdout)
            XCTAssertTrue(first.stderr.contains("under \(name == "tome" ? "ToMe" : "EViT")"), first.stderr)
            let second = try run(ft + ["--resume"])
            XCTAssertTrue(second.stderr.contains("step 4/12"), second.stderr)
            let meta = try SafeTensorsFile(path: out).metadata
            XCTAssertEqual(meta["method"], name)
            XCTAssertNotNil(meta["method_arguments"])
            XCTAssertNil(meta["train_settings"])
            let tuned = try json(try run(["eval", "--model", out, "--data", data, "--json"]))
            XCTAssertEqual(tuned["method"] as? String, name, "the recorded method runs by default")
            XCTAssertEqual(tuned["tokens_per_block"] as? [Int], before["tokens_per_block"] as? [Int])
            XCTAssertEqual(meta["test_top1"], String(format: "%.2f", tuned["top1"] as? Double ?? -1))
            let plain = try json(try run(["eval", "--model", out, "--data", data, "--method", "dense", "--json"]))
            XCTAssertEqual(plain["method"] as? String, "dense")
            // The explorer's export opens it on the recorded method and settings.
            let shown = try run(["export", "--model", out, CLI.root.appendingPathComponent("assets/images/00-t-shirt-top.png").path])
            XCTAssertTrue(shown.stdout.contains("# method: \(name == "tome" ? "ToMe  r: 3" : "EViT  keep-rate: 0.50  blocks: 1,2")"),
                          String(shown.stdout.prefix(400)))
            // The weights moved: run under the method they score differently from the starting model.
            XCTAssertNotEqual(tuned["loss"] as? Double, before["loss"] as? Double)
        }
        let base = ["finetune", "--teacher", dense, "--data", data, "--epochs", "1", "--out", "\(data)/x.safetensors"]
        assertCleanFailure(try CLI.run(base + ["--model", dense]), ["dense model", "--method tome"])
        assertCleanFailure(try CLI.run(base + ["--model", dense, "--method", "pitome"]), ["no backward pass"])
        assertCleanFailure(try CLI.run(base + ["--model", dense, "--method", "tome", "--r", "2", "--matrices-only"]), ["--matrices-only"])
        assertCleanFailure(try CLI.run(base + ["--model", dense, "--method", "tome", "--r", "2", "--resume"]), ["--resume", "drop --method"])
    }

    func testPipeline() throws {
        let data = try makeData()
        let dir = data
        _ = try run(["train", "--data", data, "--epochs", "8", "--config", "dim=16,depth=3,heads=2,patch=2", "--batch-size", "50",
                     "--lr", "3e-3", "--warmup", "10", "--out", "\(dir)/dense.safetensors", "--test-images", "200"])
        let dense = try json(try run(["eval", "--model", "\(dir)/dense.safetensors", "--data", data, "--json"]))
        XCTAssertEqual(dense["images"] as? Int, 200)
        XCTAssertGreaterThan(dense["top1"] as? Double ?? 0, 50, "brightness classes are easy to learn")
        // Continuing a finished run from its weights with a new, gentle schedule keeps what it learned.
        _ = try run(["train", "--data", data, "--epochs", "1", "--config", "dim=16,depth=3,heads=2,patch=2", "--batch-size", "50",
                     "--lr", "1e-4", "--warmup", "0", "--init", "\(dir)/dense.safetensors", "--out", "\(dir)/dense-more.safetensors",
                     "--test-images", "200"])
        let more = try json(try run(["eval", "--model", "\(dir)/dense-more.safetensors", "--data", data, "--json"]))
        // A training run stopped and resumed records the command that started it.
        let short = ["train", "--data", data, "--epochs", "1", "--config", "dim=16,depth=3,heads=2,patch=2", "--batch-size", "50",
                     "--out", "\(dir)/short.safetensors", "--test-images", "0"]
        _ = try run(short + ["--max-steps", "3"])
        _ = try run(short + ["--resume"])
        let started = try SafeTensorsFile(path: "\(dir)/short.safetensors").metadata["training_command"] ?? ""
        XCTAssertTrue(started.contains("--max-steps 3") && !started.contains("--resume"), started)
        XCTAssertGreaterThanOrEqual(more["top1"] as? Double ?? 0, (dense["top1"] as? Double ?? 0) - 5)
        assertCleanFailure(try CLI.run(["train", "--data", data, "--epochs", "1", "--config", "dim=32,depth=3,heads=2,patch=2",
                                        "--init", "\(dir)/dense.safetensors", "--out", "\(dir)/z.safetensors"]), ["another architecture"])
        _ = try run(["calibrate", "--model", "\(dir)/dense.safetensors", "--data", data, "--images", "200", "--batch", "50",
                     "--out", "\(dir)/ranks.safetensors"])
        let c = try run(["compress", "--model", "\(dir)/dense.safetensors", "--ranks", "\(dir)/ranks.safetensors", "--keep", "0.5",
                         "--prune", "0.2", "--out", "\(dir)/pm.safetensors"])
        XCTAssertTrue(c.stdout.contains("tokens per block"), c.stdout)
        let pm = try json(try run(["eval", "--model", "\(dir)/pm.safetensors", "--data", data, "--json"]))
        XCTAssertEqual(pm["kind"] as? String, "prune-and-merge")
        XCTAssertLessThan(pm["gflops_per_image"] as? Double ?? 1, dense["gflops_per_image"] as? Double ?? 0)
        // Fine-tune on the first 300 of the 600 training images (6 steps of 50 per epoch): stop after 4
        // steps, then resume to the end; the resumed run keeps the checkpoint's subset.
        let ft = ["finetune", "--model", "\(dir)/pm.safetensors", "--teacher", "\(dir)/dense.safetensors", "--data", data,
                  "--epochs", "2", "--batch-size", "50", "--out", "\(dir)/pm-ft.safetensors", "--test-images", "200"]
        let first = try run(ft + ["--train-images", "300", "--max-steps", "4"])
        XCTAssertTrue(first.stdout.contains("stopped after 4 steps"), first.stdout)
        XCTAssertTrue(first.stderr.contains("step 0/12"), first.stderr)
        // A training checkpoint evaluates as the model it holds (the optimizer moments are skipped).
        let mid = try json(try run(["eval", "--model", "\(dir)/pm-ft.ckpt.safetensors", "--data", data, "--json"]))
        XCTAssertEqual(mid["kind"] as? String, "prune-and-merge")
        XCTAssertEqual(mid["images"] as? Int, 200)
        let second = try run(ft + ["--resume"])
        XCTAssertTrue(second.stderr.contains("step 4/12"), second.stderr)
        // The shipped file records the command that started the run, not the one that resumed it.
        let made = try SafeTensorsFile(path: "\(dir)/pm-ft.safetensors").metadata["finetune_command"] ?? ""
        XCTAssertTrue(made.contains("--max-steps 4") && !made.contains("--resume"), made)
        let tuned = try json(try run(["eval", "--model", "\(dir)/pm-ft.safetensors", "--data", data, "--json"]))
        XCTAssertEqual(tuned["kind"] as? String, "prune-and-merge")
        XCTAssertGreaterThanOrEqual(tuned["top1"] as? Double ?? 0, (pm["top1"] as? Double ?? 0) - 5)
        // A second schedule on the fine-tuned file (one step) keeps the first run in finetune_history.
        _ = try run(["finetune", "--model", "\(dir)/pm-ft.safetensors", "--teacher", "\(dir)/dense.safetensors", "--data", data,
                     "--epochs", "1", "--batch-size", "50", "--train-images", "50", "--test-images", "0", "--out", "\(dir)/pm-ft2.safetensors"])
        let meta2 = try SafeTensorsFile(path: "\(dir)/pm-ft2.safetensors").metadata
        XCTAssertTrue(meta2["finetune_command"]?.contains("pm-ft.safetensors --teacher") == true, meta2["finetune_command"] ?? "")
        let history = try JSONSerialization.jsonObject(with: Data((meta2["finetune_history"] ?? "").utf8)) as? [[String: Any]] ?? []
        XCTAssertEqual(history.count, 1)
        XCTAssertEqual(history.first?["command"] as? String, made)
        XCTAssertEqual((history.first?["settings"] as? [String: Any])?["epochs"] as? Int, 2)
        XCTAssertNil(meta2["test_top1"], "no test pass in the second run: the first run's result is in the history only")

        // The side-by-side table (JSON form).
        let t = try run(["table", "\(dir)/dense.safetensors", "\(dir)/pm.safetensors", "--data", data, "--seconds", "0.2", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(t.stdout.utf8)) as? [[String: Any]] ?? []
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows.first?["speedup_b32"] as? Double, 1)
        XCTAssertEqual(rows.last?["top1"] as? Double, pm["top1"] as? Double)
        for key in ["gflops_per_image", "gflops_official", "images_per_s_b1", "images_per_s_b32", "flops_ratio"] { XCTAssertNotNil(rows.last?[key], key) }

        // The spatial probe: trained on the dense model, evaluated under a method.
        _ = try run(["probe", "--model", "\(dir)/dense.safetensors", "--data", data, "--train-images", "100", "--test-images", "50",
                     "--out", "\(dir)/probe.safetensors"])
        let pd = try json(try run(["probe", "--model", "\(dir)/dense.safetensors", "--data", data, "--probe", "\(dir)/probe.safetensors",
                                   "--test-images", "50", "--json"]))
        let pt = try json(try run(["probe", "--model", "\(dir)/dense.safetensors", "--data", data, "--probe", "\(dir)/probe.safetensors",
                                   "--test-images", "50", "--method", "tome", "--r", "20", "--json"]))
        XCTAssertEqual(pt["method"] as? String, "tome")
        for v in [pd["probe_miou"], pt["probe_miou"]] { XCTAssertTrue((0...100).contains(v as? Double ?? -1)) }

        // The comparison table: dense, PM training-free and fine-tuned, every other method at matching GFLOPs and at
        // matching speed, and a ToMe fine-tuned at the budget (a few steps: what matters here is that it is found,
        // blocked and compared). Without --prune the training-free row takes the fine-tuned file's prune rate (0.2).
        try FileManager.default.copyItem(atPath: "\(dir)/pm-ft.safetensors", toPath: "\(dir)/fmnist-pm-k50.safetensors")
        _ = try run(["finetune", "--model", "\(dir)/dense.safetensors", "--method", "tome", "--r", "2", "--teacher", "\(dir)/dense.safetensors",
                     "--data", data, "--epochs", "1", "--batch-size", "50", "--max-steps", "2", "--test-images", "0",
                     "--out", "\(dir)/tome-ft.safetensors"])
        try FileManager.default.copyItem(atPath: "\(dir)/tome-ft.ckpt.safetensors", toPath: "\(dir)/fmnist-tome-k50.safetensors")
        let cmp = try run(["compare", "--model", "\(dir)/dense.safetensors", "--ranks", "\(dir)/ranks.safetensors", "--probe",
                           "\(dir)/probe.safetensors", "--finetuned", dir, "--data", data, "--keeps", "0.5",
                           "--probe-images", "50", "--probe-train-images", "100", "--seconds", "0.2", "--json", "--plot", "\(dir)/plot.png"])
        let png = try ImageReader.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/plot.png"))), name: "plot.png")
        XCTAssertGreaterThan(png.width, 1000, "the accuracy-speed chart, both panels")
        let report = try JSONSerialization.jsonObject(with: Data(cmp.stdout.utf8)) as? [String: Any] ?? [:]
        let table = report["rows"] as? [[String: Any]] ?? []
        func row(_ name: String) -> [String: Any]? { table.first { $0["method"] as? String == name } }
        XCTAssertEqual(table.prefix(7).compactMap { $0["method"] as? String }.map { String($0.prefix(4)) },
                       ["dens", "pm-k", "pm-k", "tome", "tome", "evit", "pito"])
        XCTAssertEqual(table[1]["top1"] as? Double, pm["top1"] as? Double, "training-free row = the compressed file from the same plan")
        XCTAssertEqual(table[1]["prune"] as? Double, 0.2, "the fine-tuned file's prune rate")
        XCTAssertEqual(table[2]["top1"] as? Double, tuned["top1"] as? Double, "fine-tuned row = the shipped file")
        XCTAssertEqual(table.map { $0["block"] as? String ?? "" }.prefix(5), ["training-free", "training-free", "fine-tuned", "training-free", "fine-tuned"])
        XCTAssertEqual(table[0]["probe_miou"] as? Double, pd["probe_miou"] as? Double, "same probe, same images, same grid")
        XCTAssertEqual(table[0]["probe_miou_own"] as? Double, pd["probe_miou"] as? Double,
                       "the dense row's own probe is trained as the dense probe was: same images, same steps")
        let tomeTuned = table[4]
        XCTAssertTrue((tomeTuned["method"] as? String ?? "").hasSuffix("-finetuned"), "\(tomeTuned)")
        let tomeEval = try json(try run(["eval", "--model", "\(dir)/fmnist-tome-k50.safetensors", "--data", data, "--json"]))
        XCTAssertEqual(tomeTuned["top1"] as? Double, tomeEval["top1"] as? Double, "the fine-tuned ToMe row = its file under its recorded method")
        let target = table[1]["gflops_per_image"] as? Double ?? 0
        for r in table where (r["matched_on"] as? [String] ?? []).contains("gflops") && r["block"] as? String == "training-free" {
            // DiffRate chooses among its ten published schedules only: a coarser match.
            let slack = (r["method"] as? String ?? "").hasPrefix("diffrate") ? 0.25 : 0.15
            XCTAssertEqual(r["gflops_per_image"] as? Double ?? 0, target, accuracy: slack * target, "matching GFLOPs: \(r)")
        }
        for r in table {
            for key in ["top1", "gflops_per_image", "gflops_official", "images_per_s_b1", "images_per_s_b32", "probe_miou", "probe_miou_own", "block"] {
                XCTAssertNotNil(r[key] as? NSNull == nil ? r[key] : nil, "\(key) of \(r["method"] ?? "")")
            }
        }
        // Every baseline matched on each speed, by a training-free row of its own.
        for id in ["tome", "evit", "pitome", "diffrate"] {
            for key in ["images_per_s_b1", "images_per_s_b32"] {
                XCTAssertTrue(table.contains { ($0["method"] as? String ?? "").hasPrefix(id + "-") && $0["block"] as? String == "training-free" &&
                    ($0["matched_on"] as? [String] ?? []).contains(key) }, "\(id) matched on \(key)")
            }
        }
        // Paired tests: each PM row against each matched row, fine-tuned against training-free, within each block.
        let comparisons = report["comparisons"] as? [[String: Any]] ?? []
        for c in comparisons {
            let diff = c["diff"] as? Double ?? .nan, low = c["ci_low"] as? Double ?? .nan, high = c["ci_high"] as? Double ?? .nan
            XCTAssertTrue(low <= diff && diff <= high, "\(c)")
            XCTAssertTrue((0...1).contains(c["p_value"] as? Double ?? -1), "\(c)")
            XCTAssertEqual(report["top1_on"] as? String, "\(c["images"] as? Int ?? -1) test images", "what top-1 is on, for `compare --from`")
            XCTAssertTrue(["gflops", "images_per_s_b1", "images_per_s_b32"].contains(c["matched_on"] as? String ?? ""), "\(c)")
            let a = row(c["a"] as? String ?? "")?["top1"] as? Double ?? .nan, b = row(c["b"] as? String ?? "")?["top1"] as? Double ?? .nan
            XCTAssertEqual(diff, a - b, accuracy: 0.011, "the paired difference is the difference of the rows' top-1")
        }
        func pairs(_ on: String) -> [String] { comparisons.filter { $0["matched_on"] as? String == on }.map { "\($0["a"] ?? "") vs \($0["b"] ?? "")" } }
        XCTAssertEqual(pairs("images_per_s_b1").count, 4, "\(pairs("images_per_s_b1"))")
        XCTAssertEqual(pairs("images_per_s_b32").count, 4)
        let tomeName = tomeTuned["method"] as? String ?? ""
        XCTAssertTrue(pairs("gflops").contains("pm-k50-finetuned vs \(tomeName)"), "\(pairs("gflops"))")
        XCTAssertTrue(pairs("gflops").contains("pm-k50-finetuned vs pm-k50"))

        // Bad input: one line, non-zero exit.
        assertCleanFailure(try CLI.run(["compress", "--model", "\(dir)/dense.safetensors", "--ranks", CLI.fixture("pm-p8.reference.safetensors"),
                                        "--keep", "0.5", "--out", "\(dir)/x.safetensors"]), ["seq_ranks.0", "expected [196]"])
        assertCleanFailure(try CLI.run(["compress", "--model", "\(dir)/dense.safetensors", "--ranks", "\(dir)/ranks.safetensors",
                                        "--keep", "1.5", "--out", "\(dir)/x.safetensors"]), ["--keep must be in (0, 1)"])
        assertCleanFailure(try CLI.run(["compress", "--model", "\(dir)/dense.safetensors", "--ranks", "\(dir)/ranks.safetensors",
                                        "--keep", "0.7", "--prune", "0.4", "--out", "\(dir)/x.safetensors"]), ["must not exceed 1"])
        assertCleanFailure(try CLI.run(["compress", "--model", "\(dir)/dense.safetensors", "--ranks", "\(dir)/ranks.safetensors",
                                        "--keep", "0.7", "--grouping", "rows", "--out", "\(dir)/x.safetensors"]), ["'official' and 'grid'"])
        // A PM file whose matrices do not fit the model: the fixture's matrices on this model's shapes.
        assertCleanFailure(try CLI.run(["eval", "--model", CLI.fixture("pm-p8.safetensors"), "--data", data]), ["takes 3x64x64"])
        assertCleanFailure(try CLI.run(["train", "--data", "/nonexistent", "--out", "\(dir)/y.safetensors"]), ["/nonexistent"])
        assertCleanFailure(try CLI.run(["train", "--data", data, "--resume", "--out", "\(dir)/none.safetensors"]), ["no checkpoint"])
    }
}
