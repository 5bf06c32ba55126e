// Tests for Engine/Image: PNG reading and writing against PIL, and the timm/torchvision eval
// transform against values computed by Pillow + numpy.
//
// Fixtures live in Tests/Fixtures/images and are made by make_fixtures.py there (seeded,
// reproducible). manifest.json lists every case with its expected sizes and files:
//   codec       small PNGs of every kind + PIL's convert('RGB') pixels (tolerance 1 for 16-bit)
//   errors      broken files and the ImageError.Kind each must throw
//   preprocess  input PNG, config, torchvision geometry, PIL's resized uint8 image (HWC) and
//               the final CHW float32 tensor (little-endian)
//   resize      PIL Image.resize(BICUBIC) outputs for each pass alone, up and down, RGB and L
//   grayscale   PIL convert('L') outputs

import Foundation
import XCTest
@testable import Engine

private let fixtureDir = URL(fileURLWithPath: #filePath)
    .appendingPathComponent("../../Fixtures/images").standardized

private func fixture(_ name: String) -> String { fixtureDir.appendingPathComponent(name).path }

private struct Manifest: Decodable {
    struct Codec: Decodable {
        let file: String, width: Int, height: Int, tolerance: Int, note: String, rgb: [Int]
    }
    struct Failure: Decodable { let file: String, kind: String, maxPixels: Int? }
    struct Case: Decodable {
        let name: String, input: String, inputSize: Int, cropPct: Double, mean: [Double], std: [Double]
        let channels: Int, scale: Int, resizedWidth: Int, resizedHeight: Int, cropTop: Int, cropLeft: Int
        let resized: String, tensor: String
    }
    struct Resize: Decodable { let input: String, width: Int, height: Int, channels: Int, expected: String }
    struct Gray: Decodable { let input: String, expected: String }
    let codec: [Codec], errors: [Failure], preprocess: [Case], resize: [Resize], grayscale: [Gray]
}

private func loadManifest() throws -> Manifest {
    let data = try Data(contentsOf: fixtureDir.appendingPathComponent("manifest.json"))
    return try JSONDecoder().decode(Manifest.self, from: data)
}

private func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: fixtureDir.appendingPathComponent(name)))
}

private func floats(_ name: String) throws -> [Float] {
    let raw = try bytes(name)
    return stride(from: 0, to: raw.count, by: 4).map { i in
        Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
    }
}

private func maxAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

private func kind(_ name: String) -> ImageError.Kind? {
    switch name {
    case "fileNotFound": return .fileNotFound
    case "notPNG": return .notPNG
    case "corrupt": return .corrupt
    case "tooLarge": return .tooLarge
    default: return nil
    }
}

/// A fresh empty directory, removed at the end of the test.
private func tempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagetests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

final class PNGCodecTests: XCTestCase {
    func testReadsEveryKindLikePIL() throws {
        let m = try loadManifest()
        let names = Set(m.codec.map(\.file))
        for required in ["rgb8.png", "rgb8_interlaced.png", "rgba8.png", "gray8.png", "gray16.png", "rgb16.png",
                         "palette4.png", "palette_trns.png", "gray1.png"] {
            XCTAssertTrue(names.contains(required), "manifest lacks \(required)")
        }
        for c in m.codec {
            let img = try PNGCodec.read(path: fixture(c.file))
            XCTAssertEqual(img.width, c.width, c.file)
            XCTAssertEqual(img.height, c.height, c.file)
            XCTAssertEqual(img.pixels.count, c.rgb.count, c.file)
            let diff = maxAbsDiff(img.pixels, c.rgb.map { UInt8($0) })
            XCTAssertLessThanOrEqual(diff, c.tolerance, "\(c.file): max diff \(diff) vs PIL (\(c.note))")
        }
    }

    func testInterlacedDecodesLikePlain() throws {
        XCTAssertEqual(try PNGCodec.read(path: fixture("rgb8_interlaced.png")),
                       try PNGCodec.read(path: fixture("rgb8.png")))
    }

    func testAlphaIsDroppedNotComposited() throws {
        // rgba8.png has the pixels of rgb8.png with alpha 0 and 115 on the first two pixels:
        // compositing (libpng's RGB read) would darken them, PIL's convert('RGB') does not.
        XCTAssertEqual(try PNGCodec.read(path: fixture("rgba8.png")).pixels,
                       try PNGCodec.read(path: fixture("rgb8.png")).pixels)
    }

    func testSixteenBitIsTreatedAsSRGB() throws {
        // First pixels: gray 25700 and 32768 (linear decoding would give 167 and 186);
        // rgb16 pixel 1 is (217, 207, 235) * 257.
        let g = try PNGCodec.read(path: fixture("gray16.png"))
        XCTAssertEqual(Array(g.pixels[0..<6]), [100, 100, 100, 128, 128, 128])
        let c = try PNGCodec.read(path: fixture("rgb16.png"))
        XCTAssertEqual(Array(c.pixels[3..<6]), [217, 207, 235])
    }

    func testReadFromMemoryEqualsReadFromFile() throws {
        for name in ["rgb8.png", "palette_trns.png", "gray16.png"] {
            XCTAssertEqual(try PNGCodec.read(data: try bytes(name)), try PNGCodec.read(path: fixture(name)), name)
        }
    }

    func testBrokenFilesThrowOneClearLine() throws {
        let m = try loadManifest()
        XCTAssertGreaterThanOrEqual(m.errors.count, 5)
        for f in m.errors {
            let path = fixture(f.file)
            XCTAssertThrowsError(try PNGCodec.read(path: path, maxPixels: f.maxPixels ?? PNGCodec.defaultMaxPixels),
                                 f.file) { error in
                guard let e = error as? ImageError else { return XCTFail("\(f.file): \(error) is not an ImageError") }
                XCTAssertEqual(e.kind, kind(f.kind), "\(f.file): \(e)")
                XCTAssertTrue(e.description.hasPrefix("cannot read \(path): "), e.description)
                XCTAssertTrue(e.description.contains("; "), "no advice in: \(e.description)")
                XCTAssertFalse(e.description.contains("\n"), e.description)
            }
        }
        // In-memory data gets the same checks.
        for name in ["truncated.png", "bad_crc.png", "not_a_png.png"] {
            XCTAssertThrowsError(try PNGCodec.read(data: try bytes(name), name: name)) { error in
                XCTAssertTrue("\(error)".hasPrefix("cannot read \(name): "), "\(error)")
            }
        }
        XCTAssertThrowsError(try PNGCodec.read(data: []))
        XCTAssertThrowsError(try PNGCodec.read(path: fixtureDir.path)) { error in
            XCTAssertTrue("\(error)".contains("directory"), "\(error)")
        }
    }

    func testPixelCapIsCheckedBeforeDecoding() throws {
        // 30000 x 30000 declared in a 69-byte file: must fail on the header, not after a 3.6 GB allocation.
        let path = fixture("bomb_header.png")
        XCTAssertThrowsError(try PNGCodec.read(path: path)) { error in
            let text = "\(error)"
            XCTAssertEqual((error as? ImageError)?.kind, .tooLarge)
            XCTAssertTrue(text.contains("30000x30000") && text.contains("900000000") && text.contains("50000000"), text)
        }
        XCTAssertThrowsError(try PNGCodec.read(path: fixture("rgb8.png"), maxPixels: 34)) { error in
            XCTAssertTrue("\(error)".contains("7x5 = 35 pixels, over the cap of 34"), "\(error)")
        }
        XCTAssertNoThrow(try PNGCodec.read(path: fixture("rgb8.png"), maxPixels: 35))
    }

    func testMissingFileMessage() {
        XCTAssertThrowsError(try PNGCodec.read(path: "/no/such/dir/photo.png")) { error in
            XCTAssertEqual("\(error)", "cannot read /no/such/dir/photo.png: no such file; check the path")
        }
    }

    func testWriteReadRoundTripIsByteIdentical() throws {
        let dir = try tempDir(self)
        for name in ["pp_c.png", "palette_trns.png", "rgb16.png"] {
            let img = try PNGCodec.read(path: fixture(name))
            let out = dir.appendingPathComponent("out.png").path
            try PNGCodec.write(img, to: out)
            XCTAssertEqual(try PNGCodec.read(path: out), img, name)
        }
        // Gray: written as 8-bit gray, read back as R = G = B.
        let gray: [UInt8] = (0..<35).map { UInt8($0 * 7) }
        let grayPath = dir.appendingPathComponent("gray.png").path
        try PNGCodec.writeGray(width: 7, height: 5, pixels: gray, to: grayPath)
        XCTAssertEqual(try PNGCodec.read(path: grayPath), RGBImage(width: 7, height: 5, gray: gray))
        // Only the final files are left: no temp files.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["gray.png", "out.png"])
    }

    func testWriteReplacesExistingFile() throws {
        let dir = try tempDir(self)
        let path = dir.appendingPathComponent("x.png").path
        try PNGCodec.write(RGBImage(width: 3, height: 2), to: path)
        let img = try PNGCodec.read(path: fixture("rgb8.png"))
        try PNGCodec.write(img, to: path)
        XCTAssertEqual(try PNGCodec.read(path: path), img)
    }

    func testWriteFailuresThrow() throws {
        let img = try PNGCodec.read(path: fixture("rgb8.png"))
        XCTAssertThrowsError(try PNGCodec.write(img, to: "/no/such/dir/out.png")) { error in
            XCTAssertEqual("\(error)", "cannot write /no/such/dir/out.png: directory /no/such/dir does not exist; "
                + "create it first or choose another path")
        }
        let dir = try tempDir(self)
        // Target is an existing directory: libpng writes the temp file, rename fails, temp removed.
        let sub = dir.appendingPathComponent("sub.png")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        XCTAssertThrowsError(try PNGCodec.write(img, to: sub.path)) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .ioError, "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["sub.png"])
        var bad = img
        bad.pixels.removeLast()
        XCTAssertThrowsError(try PNGCodec.write(bad, to: dir.appendingPathComponent("bad.png").path))
        XCTAssertThrowsError(try PNGCodec.writeGray(width: 2, height: 2, pixels: [1, 2, 3], to: dir.path + "/g.png"))
    }
}

final class PreprocessTests: XCTestCase {
    func testGrayscaleMatchesPILConvertL() throws {
        for g in try loadManifest().grayscale {
            let img = try PNGCodec.read(path: fixture(g.input))
            XCTAssertEqual(img.grayscale(), try bytes(g.expected), g.input)
        }
        // Gray stays gray; the weights sum to 65536.
        XCTAssertEqual(RGBImage(width: 256, height: 1, gray: (0...255).map { UInt8($0) }).grayscale(),
                       (0...255).map { UInt8($0) })
    }

    func testResizeMatchesPILExactly() throws {
        let m = try loadManifest()
        XCTAssertGreaterThanOrEqual(m.resize.count, 6)
        for r in m.resize {
            let img = try PNGCodec.read(path: fixture(r.input))
            let got: [UInt8] = r.channels == 3
                ? Preprocess.resizeBicubic(img, width: r.width, height: r.height).pixels
                : Preprocess.resizeBicubic(gray: img.grayscale(), width: img.width, height: img.height,
                                           toWidth: r.width, toHeight: r.height)
            let want = try bytes(r.expected)
            XCTAssertEqual(got.count, want.count, r.expected)
            XCTAssertEqual(maxAbsDiff(got, want), 0, r.expected)
        }
    }

    func testPreprocessMatchesTimmTorchvision() throws {
        let m = try loadManifest()
        XCTAssertGreaterThanOrEqual(m.preprocess.count, 4)
        for c in m.preprocess {
            let img = try PNGCodec.read(path: fixture(c.input))
            let cfg = PreprocessConfig(inputSize: c.inputSize, cropPct: c.cropPct, mean: c.mean.map { Float($0) },
                                       std: c.std.map { Float($0) }, channels: c.channels)
            let g = try Preprocess.geometry(width: img.width, height: img.height, cfg)
            XCTAssertEqual(g, PreprocessGeometry(scale: c.scale, resizedWidth: c.resizedWidth,
                                                 resizedHeight: c.resizedHeight, cropLeft: c.cropLeft,
                                                 cropTop: c.cropTop, cropSize: c.inputSize), c.name)

            // The uint8 image PIL produced before the crop: must match exactly.
            let resized: [UInt8] = c.channels == 3
                ? Preprocess.resizeBicubic(img, width: g.resizedWidth, height: g.resizedHeight).pixels
                : Preprocess.resizeBicubic(gray: img.grayscale(), width: img.width, height: img.height,
                                           toWidth: g.resizedWidth, toHeight: g.resizedHeight)
            let want = try bytes(c.resized)
            XCTAssertEqual(resized.count, want.count, c.name)
            XCTAssertEqual(maxAbsDiff(resized, want), 0, "\(c.name): resized image differs from PIL")

            let x = try Preprocess.preprocess(img, cfg)
            let ref = try floats(c.tensor)
            XCTAssertEqual(x.count, c.channels * c.inputSize * c.inputSize, c.name)
            XCTAssertEqual(x.count, ref.count, c.name)
            let err = zip(x, ref).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(err, 1e-6, "\(c.name): tensor max abs diff \(err)")
        }
    }

    func testCropWindowEqualsFullResizeThenCrop() throws {
        // preprocess resizes only the pixels inside the crop window; that must give exactly what
        // resizing the whole image and cropping gives, for both pass orders, gray, and padding.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let cases: [(w: Int, h: Int, size: Int, pct: Double, channels: Int)] = [
            (120, 80, 32, 0.9, 3), (33, 140, 24, 0.9, 3), (140, 33, 24, 0.875, 1), (50, 61, 40, 0.5, 3),
            (19, 23, 16, 1.3, 3), (64, 64, 64, 1.0, 1), (200, 13, 8, 0.9, 3), (7, 300, 16, 0.9, 1),
        ]
        for t in cases {
            let img = RGBImage(width: t.w, height: t.h, pixels: (0..<(t.w * t.h * 3)).map { _ in next() })
            let mean: [Float] = t.channels == 3 ? [0.485, 0.456, 0.406] : [0.5]
            let std: [Float] = t.channels == 3 ? [0.229, 0.224, 0.225] : [0.25]
            let cfg = PreprocessConfig(inputSize: t.size, cropPct: t.pct, mean: mean, std: std, channels: t.channels)
            let g = try Preprocess.geometry(width: t.w, height: t.h, cfg)
            let full: [UInt8] = t.channels == 3
                ? Preprocess.resizeBicubic(img, width: g.resizedWidth, height: g.resizedHeight).pixels
                : Preprocess.resizeBicubic(gray: img.grayscale(), width: t.w, height: t.h,
                                           toWidth: g.resizedWidth, toHeight: g.resizedHeight)
            var want = [Float](repeating: 0, count: t.channels * t.size * t.size)
            for ch in 0..<t.channels {
                for y in 0..<t.size {
                    for x in 0..<t.size {
                        let v = y + g.cropTop, u = x + g.cropLeft
                        let inside = (0..<g.resizedHeight).contains(v) && (0..<g.resizedWidth).contains(u)
                        let p = inside ? full[(v * g.resizedWidth + u) * t.channels + ch] : 0
                        want[(ch * t.size + y) * t.size + x] = (Float(p) / 255 - mean[ch]) / std[ch]
                    }
                }
            }
            XCTAssertEqual(try Preprocess.preprocess(img, cfg), want, "\(t)")
        }
    }

    func testGeometryOfStandardConfigs() throws {
        // 1000x750 photo: timm (crop_pct 0.9) resizes to 248, the DeiT repo (0.875) to 256.
        let timm = try Preprocess.geometry(width: 1000, height: 750, .imagenet(size: 224))
        XCTAssertEqual(timm, PreprocessGeometry(scale: 248, resizedWidth: 330, resizedHeight: 248,
                                                cropLeft: 53, cropTop: 12, cropSize: 224))
        let deit = try Preprocess.geometry(width: 1000, height: 750,
                                           .imagenet(size: 224, cropPct: PreprocessConfig.deitCropPct))
        XCTAssertEqual(deit, PreprocessGeometry(scale: 256, resizedWidth: 341, resizedHeight: 256,
                                                cropLeft: 58, cropTop: 16, cropSize: 224))
        // Portrait and square; the crop offset rounds half to even like Python's round().
        let p = try Preprocess.geometry(width: 225, height: 451, .imagenet(size: 224, cropPct: 1))
        XCTAssertEqual([p.resizedWidth, p.resizedHeight, p.cropLeft, p.cropTop], [224, 448, 0, 112])
        let s = try Preprocess.geometry(width: 50, height: 50, .imagenet(size: 32, cropPct: 0.9))
        XCTAssertEqual([s.resizedWidth, s.resizedHeight, s.cropLeft, s.cropTop], [35, 35, 2, 2])
    }

    func testPreprocessRejectsBadInput() throws {
        let img = RGBImage(width: 4, height: 3)
        var cfg = PreprocessConfig.imagenet(size: 8)
        cfg.channels = 1
        XCTAssertThrowsError(try Preprocess.preprocess(img, cfg)) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .invalidArgument)
            XCTAssertTrue("\(error)".hasPrefix("cannot preprocess image: "), "\(error)")
        }
        for bad in [PreprocessConfig(inputSize: 0, cropPct: 0.9, mean: [0, 0, 0], std: [1, 1, 1]),
                    PreprocessConfig(inputSize: 8, cropPct: 0, mean: [0, 0, 0], std: [1, 1, 1]),
                    PreprocessConfig(inputSize: 8, cropPct: .nan, mean: [0, 0, 0], std: [1, 1, 1]),
                    PreprocessConfig(inputSize: 8, cropPct: 0.9, mean: [0, 0, 0], std: [1, 0, 1]),
                    PreprocessConfig(inputSize: 8, cropPct: 0.9, mean: [0, 0], std: [1, 1], channels: 2)] {
            XCTAssertThrowsError(try Preprocess.preprocess(img, bad), "\(bad)")
        }
        XCTAssertThrowsError(try Preprocess.preprocess(RGBImage(width: 0, height: 0), .imagenet(size: 8)))
        // A 1-pixel-wide strip would blow up to millions of pixels at shorter side 248: refused.
        XCTAssertThrowsError(try Preprocess.geometry(width: 1, height: 1_000_000, .imagenet()))
        XCTAssertEqual(try Preprocess.preprocess(img, .imagenet(size: 8)).count, 3 * 8 * 8)
    }
}
