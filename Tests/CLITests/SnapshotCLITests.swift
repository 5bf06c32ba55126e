import Engine
import Foundation
import XCTest

/// `explore --snapshot`: the screen drawn into a PNG without a terminal, at the size and after the
/// keys given; bad options fail cleanly and an existing file is kept.
final class SnapshotCLITests: XCTestCase {
    let base = ["explore", "--model", CLI.fixture("vit-s8.safetensors"), CLI.fixture("images/pp_a.png"), CLI.fixture("images/rgb8.png")]

    func snapshot(_ extra: [String], name: String) throws -> RGBImage {
        let out = CLI.temp(name)
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let o = try CLI.run(base + ["--snapshot", out] + extra)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("snapshot written to"), o.stdout)
        return try PNGCodec.read(path: out)
    }

    func testSnapshotsDrawTheScreenAtItsSize() throws {
        let layer = try snapshot(["--size", "100x32"], name: "one.png")
        // 9x18 pixels a cell.
        XCTAssertEqual(layer.width, 900)
        XCTAssertEqual(layer.height, 576)
        let strip = try snapshot(["--size", "100x32", "--keys", "2"], name: "strip.png")
        let methods = try snapshot(["--size", "100x32", "--keys", "3"], name: "methods.png")
        XCTAssertNotEqual(layer.pixels, strip.pixels, "the layer strip is another screen")
        XCTAssertNotEqual(strip.pixels, methods.pixels)
        // The title bar is reverse video: its first cell's background is the light theme colour.
        XCTAssertGreaterThan(layer.pixels[(9 * layer.width + 1) * 3], 180)
        // In colour the picture brings many colours; without colour only the theme's two and their mix (dim).
        func colours(_ img: RGBImage) -> Int {
            var seen = Set<Int>()
            for i in stride(from: 0, to: img.pixels.count, by: 3) {
                let r = Int(img.pixels[i]), g = Int(img.pixels[i + 1]), b = Int(img.pixels[i + 2])
                seen.insert(r << 16 | g << 8 | b)
            }
            return seen.count
        }
        XCTAssertGreaterThan(colours(layer), 50)
        let mono = try snapshot(["--size", "80x24", "--color", "none"], name: "mono.png")
        XCTAssertEqual(mono.width, 720)
        XCTAssertLessThanOrEqual(colours(mono), 3)
    }

    func testBadOptionsAndAnExistingFile() throws {
        let out = CLI.temp("exists.png")
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        assertCleanFailure(try CLI.run(base + ["--snapshot", out, "--size", "60x20"]), ["--size", "80x24"])
        assertCleanFailure(try CLI.run(base + ["--snapshot", out, "--size", "wide"]), ["--size"])
        assertCleanFailure(try CLI.run(base + ["--snapshot", out, "--keys", "lq"]), ["--keys", "q"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try CLI.run(base + ["--snapshot", out]).status, 0)
        let data = FileManager.default.contents(atPath: out)
        assertCleanFailure(try CLI.run(base + ["--snapshot", out, "--keys", "2"]), ["exists", "--force"])
        XCTAssertEqual(FileManager.default.contents(atPath: out), data, "the existing file is untouched")
        XCTAssertEqual(try CLI.run(base + ["--snapshot", out, "--keys", "2", "--force"]).status, 0)
        XCTAssertNotEqual(FileManager.default.contents(atPath: out), data)
    }
}
