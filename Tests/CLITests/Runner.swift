import Foundation
import XCTest

/// Runs the release build of `tokenscope` (the README's test command builds it first; debug code
/// is many times slower on real models). `TOKENSCOPE_BIN` overrides the path.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")
    static var binary: String {
        ProcessInfo.processInfo.environment["TOKENSCOPE_BIN"] ?? root.appendingPathComponent(".build/release/tokenscope").path
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ args: [String], env: [String: String] = [:]) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("no release binary at \(binary): run `swift build -c release` first (the README's test command does)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: r, as: UTF8.self))
    }

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    static func temp(_ name: String) -> String {
        NSTemporaryDirectory() + "tokenscope-cli-\(getpid())-\(name)"
    }
}

/// Asserts a failed run: non-zero status, nothing on stdout, one line on stderr containing every fragment.
func assertCleanFailure(_ o: CLI.Output, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertNotEqual(o.status, 0, "expected failure; stderr: \(o.stderr)", file: file, line: line)
    let lines = o.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, "one line on stderr, got: \(o.stderr)", file: file, line: line)
    for f in fragments { XCTAssertTrue(o.stderr.contains(f), "stderr \"\(o.stderr)\" should contain \"\(f)\"", file: file, line: line) }
    XCTAssertFalse(o.stderr.contains("Fatal error"), file: file, line: line)
}
