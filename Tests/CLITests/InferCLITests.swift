import Engine
import Foundation
import XCTest

/// `tokenscope infer` and `bench` end to end, on the fixtures: outputs match the references and
/// every kind of bad input gives one line on stderr and a non-zero exit.
final class InferCLITests: XCTestCase {
    func testInferWritesLogitsAttentionTokensAndScores() throws {
        let out = CLI.temp("infer.safetensors")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let o = try CLI.run(["infer", "--model", CLI.fixture("vit-s8.safetensors"), "--input", CLI.fixture("vit-s8.reference.safetensors"),
                             "--out", out, "--attention", "--scores", "--labels-key", "labels"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let f = try SafeTensorsFile(path: out)
        let ref = try SafeTensorsFile(path: CLI.fixture("vit-s8.reference.safetensors"))
        func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }
        XCTAssertEqual(f.entries["logits"]?.shape, [2, 10])
        XCTAssertLessThanOrEqual(maxDiff(try f.floats("logits"), try ref.floats("logits")), 1e-4)
        for i in 0..<3 {
            XCTAssertEqual(f.entries["attn.\(i)"]?.shape, [2, 3, 17, 17])
            XCTAssertLessThanOrEqual(maxDiff(try f.floats("attn.\(i)"), try ref.floats("attn.\(i)")), 1e-5)
            XCTAssertLessThanOrEqual(maxDiff(try f.floats("tokens.\(i)"), try ref.floats("tokens.\(i)")), 1e-5)
            let s = try f.floats("score.\(i)"), e = try ref.floats("score.\(i)")
            for j in e.indices { XCTAssertEqual(s[j], e[j], accuracy: 1e-4 * abs(e[j]) + 1e-9, "score.\(i)[\(j)]") }
        }
    }

    func testInferCompressedModelGivesOfficialLogits() throws {
        let out = CLI.temp("pm-infer.safetensors")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let o = try CLI.run(["infer", "--model", CLI.fixture("pm-p8.safetensors"), "--input", CLI.fixture("pm-p8.reference.safetensors"),
                             "--out", out, "--attention"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let f = try SafeTensorsFile(path: out)
        let got = try f.floats("logits"), want = try SafeTensorsFile(path: CLI.fixture("pm-p8.reference.safetensors")).floats("pm_logits")
        XCTAssertLessThanOrEqual(zip(got, want).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        XCTAssertEqual(f.entries["tokens.3"]?.shape, [2, 65, 64], "full token grid after every block")
    }

    func testPMFileWhoseMatricesDoNotFitIsRefused() throws {
        // The official checkpoint with block 1's merge matrix cut to 64 columns (the model has 65 tokens).
        let src = try SafeTensorsFile(path: CLI.fixture("pm-p8.safetensors"))
        var w = SafeTensorsWriter(metadata: src.metadata)
        for n in src.names {
            var t = try src.tensor(n)
            if n == "blocks.1.attn.merge_matrix" {
                let rows = t.shape[0]
                t = Tensor(shape: [rows, 64], data: (0..<rows).flatMap { r in Array(t.data[(r * 65)..<(r * 65 + 64)]) })
            }
            w.add(n, t)
        }
        let bad = CLI.temp("bad-pm.safetensors")
        try w.write(to: bad)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        assertCleanFailure(try CLI.run(["infer", "--model", bad, "--input", CLI.fixture("pm-p8.reference.safetensors"), "--json"]),
                           ["blocks.1.attn.merge_matrix has shape [38, 64]", "expected [C, 65]"])
    }

    func testJSONTopFive() throws {
        let o = try CLI.run(["infer", "--model", CLI.fixture("vit-s8.safetensors"), "--input", CLI.fixture("vit-s8.reference.safetensors"), "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(rows?.count, 2)
        let top = rows?.first?["top5"] as? [[String: Any]]
        XCTAssertEqual(top?.count, 5)
        let probs = top?.compactMap { $0["prob"] as? Double } ?? []
        XCTAssertEqual(probs, probs.sorted(by: >))
        XCTAssertEqual(top?.first?["name"] as? String, "class \(top?.first?["class"] as? Int ?? -1)")
    }

    func testBadInputs() throws {
        let model = CLI.fixture("vit-s8.safetensors")
        assertCleanFailure(try CLI.run(["infer", "--model", "/nonexistent.safetensors", "--input", model, "--json"]), ["no such file"])
        let junk = CLI.temp("junk.safetensors")
        try Data("this is not a model".utf8).write(to: URL(fileURLWithPath: junk))
        defer { try? FileManager.default.removeItem(atPath: junk) }
        assertCleanFailure(try CLI.run(["infer", "--model", junk, "--input", model, "--json"]), ["not a valid safetensors file"])
        // The model file itself as input: no tensor named "input".
        assertCleanFailure(try CLI.run(["infer", "--model", model, "--input", model, "--json"]), ["no tensor \"input\"", "--input-key"])
        // Wrong shape: the pm-p8 batch is 64x64.
        assertCleanFailure(try CLI.run(["infer", "--model", model, "--input", CLI.fixture("pm-p8.reference.safetensors"), "--json"]),
                           ["has shape [2, 3, 64, 64]", "expected [B, 3, 32, 32]"])
        assertCleanFailure(try CLI.run(["infer", "--model", model, "--input", CLI.fixture("vit-s8.reference.safetensors"),
                                        "--json", "--scores", "--labels-key", "logits"]), ["labels"])
        assertCleanFailure(try CLI.run(["infer", "--model", model, "/nonexistent.png", "--json"]), ["/nonexistent.png"])
        assertCleanFailure(try CLI.run(["infer", "--model", model, junk, "--json"]), [junk])
        assertCleanFailure(try CLI.run(["infer", "--model", model, "--input", CLI.fixture("vit-s8.reference.safetensors"),
                                        "--out", "/nonexistent-dir/out.safetensors"]), ["cannot write /nonexistent-dir/out.safetensors"])
        let noArgs = try CLI.run(["infer", "--model", model])
        XCTAssertNotEqual(noArgs.status, 0)
        XCTAssertTrue(noArgs.stderr.contains("give PNG or JPEG images or --input"), noArgs.stderr)
    }

    func testBenchJSON() throws {
        let o = try CLI.run(["bench", "--model", CLI.fixture("vit-s8.safetensors"), "--batch", "3", "--seconds", "0.2", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        for key in ["images_per_s", "ms_per_batch", "batch", "threads", "gflops_per_image", "blas_core"] {
            XCTAssertNotNil(obj?[key], key)
        }
        XCTAssertEqual(obj?["batch"] as? Int, 3)
        XCTAssertGreaterThan(obj?["images_per_s"] as? Double ?? 0, 0)
        let b = try CLI.run(["bench", "--model", CLI.fixture("vit-s8.safetensors"), "--backward", "--seconds", "0.2", "--json"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("\"work\":\"scores\""), b.stdout)
    }

    /// The workers run on every CPU the process may use: OpenMP's placement variables (which pin the
    /// first thread, and so every worker, to one CPU) are undone, and a `taskset` is respected (one
    /// CPU: one worker by default).
    func testBenchUsesTheCPUsTheProcessMayUse() throws {
        func cpus(_ o: CLI.Output) throws -> (cpus: Int, threads: Int) {
            XCTAssertEqual(o.status, 0, o.stderr)
            let obj = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
            return (obj?["cpus"] as? Int ?? -1, obj?["threads"] as? Int ?? -1)
        }
        let args = ["bench", "--model", CLI.fixture("vit-s8.safetensors"), "--seconds", "0.1", "--json"]
        let all = try cpus(try CLI.run(args))
        guard all.cpus >= 2 else { throw XCTSkip("needs a machine with 2 or more CPUs") }
        XCTAssertEqual(all.threads, all.cpus)
        for env in [["OMP_PROC_BIND": "true"], ["OMP_PLACES": "cores"], ["OMP_PROC_BIND": "close", "OMP_PLACES": "threads"]] {
            XCTAssertEqual(try cpus(try CLI.run(args, env: env)).cpus, all.cpus, "\(env)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        p.arguments = ["-c", "0", CLI.binary] + args
        var env = ProcessInfo.processInfo.environment
        env["OMP_PROC_BIND"] = "true"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let one = try cpus(CLI.Output(status: p.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: ""))
        XCTAssertEqual(one.cpus, 1)
        XCTAssertEqual(one.threads, 1)
    }

    func testBenchExplorerReplaysKeys() throws {
        let o = try CLI.run(["bench", "--model", CLI.fixture("vit-s8.safetensors"), "--explorer", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        // The earlier 63-key replay, then 61 more keys; every key is in one cost class.
        XCTAssertEqual(obj?["keys"] as? Int, 124)
        XCTAssertEqual(["navigation_keys", "revisit_keys", "plan_keys", "live_keys"].map { obj?[$0] as? Int ?? 0 }.reduce(0, +), 124)
        XCTAssertGreaterThan(obj?["revisit_keys"] as? Int ?? 0, 0, "settings seen before are kept")
        XCTAssertGreaterThan(obj?["live_keys"] as? Int ?? 0, 0, "the n bursts reach images nobody prepared")
        XCTAssertGreaterThan(obj?["ms_per_key_mean"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(obj?["replay63_ms_mean"] as? Double ?? 0, 0)
    }

    func testExploreWithoutATerminalPrintsTheTextMap() throws {
        // stdout is a pipe here, so the explorer prints the text patch map and says why on stderr.
        let o = try CLI.run(["explore", "--pm", CLI.fixture("pm-p8.safetensors"), CLI.fixture("images/pp_a.png")])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("plan: from the PM file"), o.stdout)
        XCTAssertTrue(o.stdout.contains("## layer 1: tokens 65 -> 45 -> 65"), o.stdout)
        XCTAssertEqual(o.stdout.split(separator: "\n").filter { $0.count == 18 && !$0.hasPrefix("#") }.count, 4 * 8, "an 8x8 grid per layer (states and restore digits)")
        XCTAssertTrue(o.stderr.contains("not a terminal"), o.stderr)
        assertCleanFailure(try CLI.run(["explore", "--pm", CLI.fixture("pm-p8.safetensors"), "--model", CLI.fixture("vit-s8.safetensors")]),
                           ["not both"])
    }

    func testVersionShowsBLASCore() throws {
        let o = try CLI.run(["--version"])
        XCTAssertEqual(o.status, 0)
        XCTAssertTrue(o.stdout.contains("matrix products: oneDNN "), o.stdout)
    }
}
