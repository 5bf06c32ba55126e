import Foundation
import XCTest

/// Files TokenScope writes are never seen half-written: each command below is killed (SIGKILL) at
/// random points while it writes over an existing file, many times; after every kill the target is
/// the old file or the complete new one, and the next complete run leaves no temporary file behind.
final class KillMidWriteTests: XCTestCase {
    /// Starts the release binary with `args`, kills it after `delay` seconds (if still running).
    func runAndKill(_ args: [String], after delay: Double) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(useconds_t(delay * 1e6))
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    func check(_ name: String, target: String, args: [String], kills: Int = 15) throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("no release binary at \(CLI.binary)") }
        let fm = FileManager.default
        let dir = (target as NSString).deletingLastPathComponent
        let finished = try CLI.run(args)
        XCTAssertEqual(finished.status, 0, "\(name): \(finished.stderr)")
        let new = try XCTUnwrap(fm.contents(atPath: target), name)
        let old = Data("an older file, which must survive a killed write\n".utf8)
        // How long a complete run takes sets the range of the random kill times.
        let t0 = Date()
        _ = try CLI.run(args)
        let duration = Date().timeIntervalSince(t0)
        var rng = SystemRandomNumberGenerator()
        var sawOld = 0, sawNew = 0
        for _ in 0..<kills {
            try old.write(to: URL(fileURLWithPath: target))
            try runAndKill(args, after: Double.random(in: 0...(duration * 1.2), using: &rng))
            let now = try XCTUnwrap(fm.contents(atPath: target), "\(name): the target disappeared")
            XCTAssertTrue(now == old || now == new, "\(name): a partial file (\(now.count) bytes)")
            if now == old { sawOld += 1 } else { sawNew += 1 }
        }
        let after = try CLI.run(args)
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(fm.contents(atPath: target), new)
        let base = (target as NSString).lastPathComponent
        let left = try fm.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(base + ".tmp-") }
        XCTAssertEqual(left, [], "\(name): temporary files left behind")
        XCTAssertGreaterThan(sawOld + sawNew, 0)
    }

    func testExportAndCompressAreOldOrNewNeverPartial() throws {
        let dir = CLI.temp("kills")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = CLI.root.appendingPathComponent("Tests/Fuzz/corpus").path
        try check("export -o PNG", target: dir + "/map.png",
                  args: ["export", "--model", CLI.fixture("vit-s8.safetensors"), CLI.fixture("images/pp_a.png"),
                         "--format", "png", "-o", dir + "/map.png", "--force"])
        try check("compress --out", target: dir + "/pm.safetensors",
                  args: ["compress", "--model", corpus + "/safetensors/tiny-vit.safetensors", "--ranks", corpus + "/ranks/tiny.ranks.safetensors",
                         "--keep", "0.5", "--prune", "0.25", "--out", dir + "/pm.safetensors"])
    }
}
