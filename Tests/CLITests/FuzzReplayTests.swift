import Foundation
import XCTest

/// Every fuzz target's seed corpus and every input a fuzzer ever crashed on, replayed through the
/// plain build of `tokenscope-fuzz`: the parsers refuse bad input with an error, never a trap.
final class FuzzReplayTests: XCTestCase {
    func testCorporaAndRegressionsReplayWithoutACrash() throws {
        let binary = CLI.root.appendingPathComponent(".build/release/tokenscope-fuzz").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("no release build of tokenscope-fuzz: run `swift build -c release` first")
        }
        let fuzz = CLI.root.appendingPathComponent("Tests/Fuzz")
        let targets = ["safetensors", "pm", "ranks", "image", "idx", "keys", "schedule"]
        for t in targets {
            var files: [String] = []
            for dir in ["corpus", "regressions"] {
                let d = fuzz.appendingPathComponent(dir).appendingPathComponent(t)
                let names = (try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []
                files += names.filter { !$0.hasPrefix(".") }.sorted().map { d.appendingPathComponent($0).path }
            }
            XCTAssertFalse(files.isEmpty, "no seed corpus for \(t)")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = [t] + files
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "\(t): \(text)")
            XCTAssertTrue(text.contains("\(t): \(files.count) inputs, no crash"), text)
        }
    }

    /// The targets do reach the code they are meant for: the seeds parse (a target that refused its
    /// own seeds would fuzz nothing but the first check).
    func testSeedsAreAccepted() throws {
        let binary = CLI.root.appendingPathComponent(".build/release/tokenscope").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no release binary") }
        let corpus = CLI.root.appendingPathComponent("Tests/Fuzz/corpus")
        let model = corpus.appendingPathComponent("safetensors/tiny-vit.safetensors").path
        let ok = try CLI.run(["infer", "--model", model, "--json", CLI.fixture("images/gray8.png")])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let pm = try CLI.run(["infer", "--model", corpus.appendingPathComponent("pm/tiny-pm.safetensors").path, "--json", CLI.fixture("images/gray8.png")])
        XCTAssertEqual(pm.status, 0, pm.stderr)
    }
}
