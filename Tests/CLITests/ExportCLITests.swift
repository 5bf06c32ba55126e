import Foundation
import XCTest

/// `tokenscope export` end to end: the text format against a golden file, JSON agreeing with the
/// text, CSV size, the PNG figure read back, and bad input.
final class ExportCLITests: XCTestCase {
    /// Plan from fixed ranks (the official fixture's seq_ranks), so the plan does not depend on
    /// floating-point details of this machine.
    let base = [CLI.fixture("images/pp_a.png"), "--model", CLI.fixture("pm-p8.dense.safetensors"),
                "--ranks", CLI.fixture("pm-p8.reference.safetensors"), "--keep", "0.6", "--prune", "0.1"]
    static let golden = CLI.fixtures.appendingPathComponent("golden/pm-p8-pp_a.patchmap.txt").path

    /// Set TOKENSCOPE_REGENERATE_GOLDEN=1 to rewrite the golden file on purpose (then review the diff).
    func testTextMatchesTheGoldenFile() throws {
        let o = try CLI.run(["export"] + base)
        XCTAssertEqual(o.status, 0, o.stderr)
        if ProcessInfo.processInfo.environment["TOKENSCOPE_REGENERATE_GOLDEN"] == "1" {
            try o.stdout.write(toFile: Self.golden, atomically: true, encoding: .utf8)
        }
        let want = try String(contentsOfFile: Self.golden, encoding: .utf8)
        XCTAssertEqual(o.stdout, want, "text export changed; if on purpose, regenerate with TOKENSCOPE_REGENERATE_GOLDEN=1")
        let again = try CLI.run(["export"] + base)
        XCTAssertEqual(again.stdout, o.stdout, "byte-identical for the same input")
    }

    func testJSONAgreesWithTextAndCSVHasARowPerLayerAndPatch() throws {
        let text = try CLI.run(["export"] + base).stdout
        let o = try CLI.run(["export"] + base + ["--format", "json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])
        let layers = try XCTUnwrap(obj["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 4)
        let lines = text.split(separator: "\n").map(String.init)
        for L in layers {
            let n = try XCTUnwrap(L["layer"] as? Int)
            let h = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("## layer \(n):") })
            let grid = lines[(h + 1)...(h + 8)].map { String($0.prefix(8)) }.joined()
            XCTAssertEqual(L["map"] as? String, grid, "layer \(n)")
            XCTAssertTrue(lines[h].contains("tokens 65 -> \(L["tokens_run"] as? Int ?? -1) -> 65"), lines[h])
            let states = try XCTUnwrap(L["state"] as? [String])
            XCTAssertEqual(states.count, 64)
            // Each state word agrees with its glyph.
            for (j, ch) in grid.enumerated() {
                let w = states[j]
                switch ch {
                case ".": XCTAssertEqual(w, "pruned")
                case ":": XCTAssertEqual(w, "unassigned")
                default: XCTAssertEqual(w, ch.isUppercase ? "center" : "merged")
                }
            }
        }
        let csv = try CLI.run(["export"] + base + ["--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertEqual(csv.stdout.split(separator: "\n").count, 1 + 4 * 64)
        let one = try CLI.run(["export"] + base + ["--format", "csv", "--layer", "3"])
        XCTAssertEqual(one.stdout.split(separator: "\n").count, 1 + 64)
        XCTAssertTrue(one.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.hasPrefix("3,") })
    }

    func testPNGReadsBackWithTheExpectedSizeAndFilesAreNotOverwritten() throws {
        let out = CLI.temp("fig.png")
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let o = try CLI.run(["export"] + base + ["--format", "png", "-o", out])
        XCTAssertEqual(o.status, 0, o.stderr)
        // Read the IHDR: width and height, big-endian, at bytes 16-23.
        let data = try XCTUnwrap(FileManager.default.contents(atPath: out))
        XCTAssertEqual(Array(data.prefix(8)), [137, 80, 78, 71, 13, 10, 26, 10])
        let w = data[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = data[20..<24].reduce(0) { $0 << 8 | Int($1) }
        // 64-pixel image scaled by 2 -> 128-pixel panels; image + 4 layers in one row.
        XCTAssertEqual(w, 8 + 5 * (128 + 8)); XCTAssertEqual(h, 8 + 128 + 16 + 8)
        let again = try CLI.run(["export"] + base + ["--format", "png", "-o", out])
        assertCleanFailure(again, ["exists", "--force"])
        XCTAssertEqual(FileManager.default.contents(atPath: out), data, "the existing file is untouched")
        XCTAssertEqual(try CLI.run(["export"] + base + ["--format", "png", "-o", out, "--force"]).status, 0)
    }

    func testBadInput() throws {
        assertCleanFailure(try CLI.run(["export", "/nonexistent.png", "--model", CLI.fixture("vit-s8.safetensors")]), ["nonexistent.png"])
        assertCleanFailure(try CLI.run(["export"] + base + ["--format", "gif"]), ["--format"])
        assertCleanFailure(try CLI.run(["export"] + base + ["--layer", "5"]), ["4 layers"])
        assertCleanFailure(try CLI.run(["export"] + base + ["--layer", "0"]), ["--layer"])
        assertCleanFailure(try CLI.run(["export"] + base + ["--format", "png"]), ["-o"])
        assertCleanFailure(try CLI.run(["export", CLI.fixture("images/pp_a.png"), "--model", CLI.fixture("vit-s8.safetensors"),
                                        "--scores", "calibrated"]), ["ranks"])
    }

    func testDemoWithoutATerminalPrintsTheTextMap() throws {
        let o = try CLI.run(["demo", "--model", CLI.fixture("vit-s8.safetensors"), CLI.fixture("images/pp_a.png")], env: ["TERM": "dumb"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("## layer 3:"), o.stdout)
        XCTAssertTrue(o.stderr.contains("tokenscope demo"), o.stderr)
    }
}
