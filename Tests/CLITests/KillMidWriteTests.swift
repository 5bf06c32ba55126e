import Engine
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

    /// `complete`: whether bytes are a complete new file (default: the same bytes as a complete run's;
    /// for files whose metadata records a time, a test gives a structural check instead).
    func check(_ name: String, target: String, args: [String], kills: Int = 15, complete: ((Data, Data) -> Bool)? = nil) throws {
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
            let isNew = complete?(now, new) ?? (now == new)
            XCTAssertTrue(now == old || isNew, "\(name): a partial file (\(now.count) bytes)")
            if now == old { sawOld += 1 } else if isNew { sawNew += 1 }
        }
        let after = try CLI.run(args)
        XCTAssertEqual(after.status, 0, after.stderr)
        let last = try XCTUnwrap(fm.contents(atPath: target), name)
        XCTAssertTrue(complete?(last, new) ?? (last == new), "\(name): the complete run's file")
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

    /// A complete safetensors file with the same tensors (names, shapes, types) as `reference` (the
    /// parser checks that the offsets tile the data section and the file size matches): what a finished write of a checkpoint, ranks or probe file is
    /// (their metadata may record times, so the bytes differ from run to run).
    static func sameTensors(_ bytes: Data, _ reference: Data) -> Bool {
        guard let a = try? SafeTensorsFile(bytes: [UInt8](bytes)), let b = try? SafeTensorsFile(bytes: [UInt8](reference)) else { return false }
        guard a.names == b.names else { return false }
        for n in a.names {
            guard let x = a.entries[n], let y = b.entries[n], x.shape == y.shape, x.dtype == y.dtype else { return false }
        }
        return true
    }

    /// 200 training and 50 test 28x28 IDX images, brightness by class (as PipelineCLITests makes them).
    func makeData(_ dir: String) throws {
        var seed: UInt64 = 7
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        for (split, n) in [("train", 200), ("t10k", 50)] {
            var images: [UInt8] = [0, 0, 8, 3] + be(n) + be(28) + be(28)
            var labels: [UInt8] = [0, 0, 8, 1] + be(n)
            for i in 0..<n {
                for _ in 0..<(28 * 28) { images.append(UInt8(10 + 22 * (i % 10) + Int(next() % 20))) }
                labels.append(UInt8(i % 10))
            }
            try Data(images).write(to: URL(fileURLWithPath: "\(dir)/\(split)-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: "\(dir)/\(split)-labels-idx1-ubyte"))
        }
    }

    /// The training checkpoint (train --max-steps writes one when it stops), the ranks file
    /// (calibrate --out) and the probe file (probe --out), each killed at 15 random points.
    func testCheckpointRanksAndProbeAreOldOrNewNeverPartial() throws {
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("no release binary at \(CLI.binary)") }
        let dir = CLI.temp("kills-train")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeData(dir)
        let arch = ["--config", "dim=16,depth=2,heads=2,patch=4", "--batch-size", "50", "--test-images", "0", "--threads", "1"]
        let model = try CLI.run(["train", "--data", dir, "--epochs", "1", "--out", dir + "/dense.safetensors"] + arch)
        XCTAssertEqual(model.status, 0, model.stderr)
        try check("train checkpoint", target: dir + "/run.ckpt.safetensors",
                  args: ["train", "--data", dir, "--epochs", "1", "--max-steps", "2", "--out", dir + "/run.safetensors",
                         "--checkpoint", dir + "/run.ckpt.safetensors", "--log", dir + "/run.log.jsonl"] + arch,
                  complete: Self.sameTensors)
        try check("calibrate --out", target: dir + "/ranks.safetensors",
                  args: ["calibrate", "--model", dir + "/dense.safetensors", "--data", dir, "--images", "100", "--batch", "50",
                         "--threads", "1", "--out", dir + "/ranks.safetensors"],
                  complete: Self.sameTensors)
        try check("probe --out", target: dir + "/probe.safetensors",
                  args: ["probe", "--model", dir + "/dense.safetensors", "--data", dir, "--train-images", "100", "--test-images", "20",
                         "--threads", "1", "--out", dir + "/probe.safetensors"],
                  complete: Self.sameTensors)
    }
}
