import Engine
import Foundation
import XCTest

/// Image folders and JPEG through the commands: eval on a PNG folder against the IDX files,
/// calibrate on JPEG photos, explore/export on folders, and the answers to bad input.
final class ImageFolderCLITests: XCTestCase {
    let jpegFixtures = CLI.fixture("images/jpeg")

    func folder(_ name: String) throws -> String {
        let dir = CLI.temp(name)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func copy(_ fixture: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture, toPath: path)
    }

    func json(_ o: CLI.Output) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// A DeiT-shaped model (3 channels, ImageNet statistics, crop 0.9) small enough for a test: 32 px, 4x4 patches of 8.
    func deitShaped(classes: Int, in dir: String) throws -> String {
        let c = ViTConfig(imageSize: 32, patchSize: 8, channels: 3, dim: 32, depth: 3, heads: 2, mlpDim: 64, numClasses: classes)
        let m = try ViTModel(config: c)
        m.initializeForTraining(seed: 3)
        let path = dir + "/deit-shaped.safetensors"
        try m.save(to: path, metadata: ["mean": "[0.485, 0.456, 0.406]", "std": "[0.229, 0.224, 0.225]", "crop_pct": "0.9"])
        return path
    }

    /// The first N Fashion-MNIST test images written as PNG into class folders give exactly the
    /// top-1 and loss of `eval --limit N` on the IDX files.
    func testEvalOnPNGFolderEqualsIDX() throws {
        let test: IDXDataset
        do { test = try IDXDataset.load(split: .test) } catch { throw XCTSkip("Fashion-MNIST not installed: \(error)") }
        let model = CLI.root.appendingPathComponent("assets/models/fmnist-vit.safetensors").path
        let n = 120
        let dir = try folder("fm-png")
        let names = IDXDataset.fashionClassNames.map { $0.replacingOccurrences(of: "/", with: "-") }
        for i in 0..<n {
            let label = Int(test.labels[i])
            let sub = "\(dir)/\(label)-\(names[label])"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let px = Array(test.images[(i * 784)..<((i + 1) * 784)])
            try PNGCodec.writeGray(width: 28, height: 28, pixels: px, to: String(format: "%@/%05d.png", sub, i))
        }
        let onFolder = try CLI.run(["eval", "--model", model, "--data", dir, "--json"])
        XCTAssertEqual(onFolder.status, 0, onFolder.stderr)
        let onIDX = try CLI.run(["eval", "--model", model, "--limit", String(n), "--json"])
        XCTAssertEqual(onIDX.status, 0, onIDX.stderr)
        let a = try json(onFolder), b = try json(onIDX)
        XCTAssertEqual(a["images"] as? Int, n)
        XCTAssertEqual(a["top1"] as? Double, b["top1"] as? Double)
        XCTAssertEqual(a["loss"] as? Double, b["loss"] as? Double)
        XCTAssertTrue((a["data"] as? String ?? "").contains("one subfolder per class (10 classes, \(n) images)"), "\(a)")
        XCTAssertGreaterThan(a["top1"] as? Double ?? 0, 80)
    }

    /// calibrate on a flat folder of JPEG photos writes seq_ranks.{i} [patches] for every block of a
    /// DeiT-shaped model; compress --data reads the same folder; eval reports agreement with the dense top-1.
    func testCalibrateAndCompressOnJPEGPhotos() throws {
        let dir = try folder("photos")
        let photos = dir + "/photos"
        for f in ["photo.jpg", "baseline420.jpg", "progressive420.jpg", "gray.jpg", "cmyk.jpg"] {
            try copy("\(jpegFixtures)/\(f)", to: "\(photos)/\(f)")
        }
        let model = try deitShaped(classes: 10, in: dir)
        let out = dir + "/ranks.safetensors"
        let o = try CLI.run(["calibrate", "--model", model, "--data", photos, "--images", "5", "--batch", "2", "--out", out])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("from 5 images in 3 batches"), o.stdout)
        XCTAssertTrue(o.stdout.contains("flat image folder, no labels (5 images)"), o.stdout)
        let file = try SafeTensorsFile(path: out)
        for i in 0..<3 {
            let e = try XCTUnwrap(file.entries["seq_ranks.\(i)"], "seq_ranks.\(i)")
            XCTAssertEqual(e.shape, [16])
            let v = try file.floats("seq_ranks.\(i)")
            XCTAssertTrue(v.allSatisfy { $0.isFinite && $0 >= 0 } && v.contains { $0 > 0 }, "\(v)")
        }
        XCTAssertEqual(file.metadata["labels"], "the model's own top-1 (flat folder)")

        let pm = dir + "/pm.safetensors"
        let c = try CLI.run(["compress", "--model", model, "--data", photos, "--images", "5", "--keep", "0.5", "--out", pm])
        XCTAssertEqual(c.status, 0, c.stderr)
        let e = try CLI.run(["eval", "--model", model, "--data", photos, "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let r = try json(e)
        XCTAssertEqual(r["images"] as? Int, 5)
        XCTAssertEqual(r["top1"] as? Double, 100, "a dense model agrees with its own top-1")
        XCTAssertEqual(r["labels"] as? String, "dense model's top-1 (flat folder, no labels)")
    }

    /// Class folders with one broken JPEG: skipped with a count and its name (exit 0), or with
    /// --strict one line and a non-zero exit. A class-folder set with fewer classes than the model is refused.
    func testBrokenJPEGInClassFolder() throws {
        let dir = try folder("classes")
        let data = dir + "/data"
        try copy("\(jpegFixtures)/photo.jpg", to: "\(data)/a-cat/1.jpg")
        try copy("\(jpegFixtures)/truncated.jpg", to: "\(data)/a-cat/2.jpg")
        try copy("\(jpegFixtures)/baseline444.jpg", to: "\(data)/b-other/1.jpeg")
        try copy("\(jpegFixtures)/gray.jpg", to: "\(data)/b-other/deeper/2.JPG")
        let model = try deitShaped(classes: 2, in: dir)
        let o = try CLI.run(["eval", "--model", model, "--data", data, "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(try json(o)["images"] as? Int, 3)
        XCTAssertTrue(o.stderr.contains("skipped 1 of 4 images") && o.stderr.contains("a-cat/2.jpg") && o.stderr.contains("truncated"), o.stderr)
        XCTAssertEqual(o.stderr.split(separator: "\n").count, 1, o.stderr)

        let strict = try CLI.run(["eval", "--model", model, "--data", data, "--strict"])
        assertCleanFailure(strict, ["a-cat/2.jpg", "truncated"])

        let ten = try deitShaped(classes: 10, in: try folder("classes-ten"))
        assertCleanFailure(try CLI.run(["eval", "--model", ten, "--data", data]), ["2 class folders", "10 classes"])
    }

    func testBadInputIsOneLine() throws {
        let dir = try folder("bad")
        let model = try deitShaped(classes: 10, in: dir)
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty + "/notes", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: empty + "/README.txt", contents: Data("x".utf8))
        assertCleanFailure(try CLI.run(["eval", "--model", model, "--data", empty + "/notes"]), ["no images"])
        assertCleanFailure(try CLI.run(["calibrate", "--model", model, "--data", empty, "--out", dir + "/r.safetensors"]),
                           ["class folder with no images", "notes"])
        let zero = dir + "/zero.jpg"
        _ = FileManager.default.createFile(atPath: zero, contents: Data())
        assertCleanFailure(try CLI.run(["infer", "--model", model, zero, "--json"]), ["zero.jpg", "empty"])
        assertCleanFailure(try CLI.run(["infer", "--model", model, dir, "--json"]), ["it is a directory"])
        assertCleanFailure(try CLI.run(["infer", "--model", model, "\(jpegFixtures)/garbage.jpg", "--json"]), ["garbage.jpg", "damaged"])
        assertCleanFailure(try CLI.run(["explore", "--model", model, "\(jpegFixtures)/truncated.jpg", "--snapshot", dir + "/s.txt"]),
                           ["truncated.jpg", "truncated"])

        // Renamed files are read by what they are, not by their names.
        try copy("\(jpegFixtures)/photo.jpg", to: dir + "/photo-really-jpeg.png")
        try copy(CLI.fixture("images/rgb8.png"), to: dir + "/picture-really-png.jpg")
        let renamed = try CLI.run(["infer", "--model", model, dir + "/photo-really-jpeg.png", dir + "/picture-really-png.jpg", "--json"])
        XCTAssertEqual(renamed.status, 0, renamed.stderr)
        let original = try CLI.run(["infer", "--model", model, "\(jpegFixtures)/photo.jpg", "--json"])
        // The classes in order (probabilities differ in the last bits between a batch of 2 and of 1).
        let top = { (o: CLI.Output, i: Int) -> [Int] in
            let rows = (try? JSONSerialization.jsonObject(with: Data(o.stdout.utf8))) as? [[String: Any]] ?? []
            return rows.count > i ? (rows[i]["top5"] as? [[String: Any]] ?? []).compactMap { $0["class"] as? Int } : []
        }
        XCTAssertEqual(top(renamed, 0).count, 5)
        XCTAssertEqual(top(renamed, 0), top(original, 0))
    }

    /// explore DIR opens every image; n walks them; a class folder with a folder per class shows the true label.
    func testExploreAndExportOnFolder() throws {
        let dir = try folder("explore")
        let data = dir + "/data"
        try copy("\(jpegFixtures)/photo.jpg", to: "\(data)/a/photo.jpg")
        try copy("\(jpegFixtures)/baseline420.jpg", to: "\(data)/b/pattern.jpg")
        try copy("\(jpegFixtures)/truncated.jpg", to: "\(data)/c/broken.jpg")
        let model = try deitShaped(classes: 3, in: dir)
        let snap = dir + "/s.txt"
        let o = try CLI.run(["explore", data, "--model", model, "--snapshot", snap, "--keys", "n"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let screen = try String(contentsOfFile: snap, encoding: .utf8)
        XCTAssertTrue(screen.contains("image 2/3: b/pattern.jpg"), screen)
        XCTAssertTrue(screen.contains("label: class 1"), "true label shown: \(screen)")
        // The broken file is the third image: black, and its title says why (the explorer has no place to throw).
        let broken = try CLI.run(["explore", data, "--model", model, "--snapshot", snap, "--keys", "nn", "--force"])
        XCTAssertEqual(broken.status, 0, broken.stderr)
        XCTAssertTrue(try String(contentsOfFile: snap, encoding: .utf8).contains("image 3/3: c/broken.jpg (unreadable"))

        let out = dir + "/maps"
        let e = try CLI.run(["export", data, "--model", model, "--scores", "image", "--format", "json", "-o", out])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stderr.contains("skipped 1 of 3 images") && e.stderr.contains("broken.jpg"), e.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, ["a_photo.json", "b_pattern.json"])
    }
}

/// train and finetune on DIR/train + DIR/test image folders (gray PNGs whose class sets the brightness).
final class TrainingFolderCLITests: XCTestCase {
    func testTrainAndFinetuneOnImageFolders() throws {
        let dir = CLI.temp("trainfolders")
        try? FileManager.default.removeItem(atPath: dir)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(seed: 5)
        for (split, n) in [("train", 200), ("test", 60)] {
            for i in 0..<n {
                let c = i % 4
                let sub = "\(dir)/data/\(split)/class-\(c)"
                try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
                let px = (0..<(12 * 12)).map { _ in UInt8(20 + 60 * c + Int(rng.next() % 30)) }
                try PNGCodec.writeGray(width: 12, height: 12, pixels: px, to: "\(sub)/\(i).png")
            }
        }
        let data = dir + "/data"
        let t = try CLI.run(["train", "--data", data, "--epochs", "4", "--config", "dim=16,depth=2,heads=2,patch=4", "--batch-size", "20",
                             "--lr", "3e-3", "--warmup", "5", "--out", dir + "/m.safetensors"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stderr.contains("4 classes, 200 images); test "), t.stderr)
        let meta = try SafeTensorsFile(path: dir + "/m.safetensors").metadata
        XCTAssertEqual(meta["labels"], "[\"class-0\", \"class-1\", \"class-2\", \"class-3\"]")
        // eval on the test folder measures what train reported for the same images.
        let e = try CLI.run(["eval", "--model", dir + "/m.safetensors", "--data", data + "/test", "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let r = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(r["images"] as? Int, 60)
        XCTAssertEqual(meta["test_top1"], String(format: "%.2f", r["top1"] as? Double ?? -1))

        let c = try CLI.run(["compress", "--model", dir + "/m.safetensors", "--data", data + "/train", "--images", "40", "--keep", "0.5",
                             "--out", dir + "/pm.safetensors"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let f = try CLI.run(["finetune", "--model", dir + "/pm.safetensors", "--teacher", dir + "/m.safetensors", "--data", data,
                             "--epochs", "1", "--batch-size", "20", "--out", dir + "/ft.safetensors"])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertTrue(f.stdout.contains("test top-1"), f.stdout)
    }
}
