// Tests for Engine/Image's JPEG decoding and the format sniffing of ImageReader, against Pillow.
//
// Fixtures live in Tests/Fixtures/images/jpeg, made once by make_jpeg_fixtures.py there (Pillow
// 13.0.0, seeded): each kind of JPEG with Pillow's `convert('RGB')` pixels as raw bytes, a photo
// with Pillow + numpy's timm eval tensor, and broken files. manifest.json lists them.

import Foundation
import XCTest
@testable import Engine

private let jpegDir = URL(fileURLWithPath: #filePath).appendingPathComponent("../../Fixtures/images/jpeg").standardized
private func jpeg(_ name: String) -> String { jpegDir.appendingPathComponent(name).path }
private func raw(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: jpegDir.appendingPathComponent(name))) }

private struct JPEGManifest: Decodable {
    struct Decode: Decodable { let file: String, width: Int, height: Int, pilMode: String, expected: String, note: String }
    struct Failure: Decodable { let file: String, kind: String }
    struct Preprocess: Decodable { let file: String, inputSize: Int, cropPct: Double, mean: [Float], std: [Float], tensor: String }
    let decode: [Decode], errors: [Failure], preprocess: [Preprocess]
}

private func manifest() throws -> JPEGManifest {
    try JSONDecoder().decode(JPEGManifest.self, from: Data(contentsOf: jpegDir.appendingPathComponent("manifest.json")))
}

private func littleEndianFloats(_ b: [UInt8]) -> [Float] {
    stride(from: 0, to: b.count, by: 4).map { i in
        Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
    }
}

private func tempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jpegtests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

final class JPEGCodecTests: XCTestCase {
    /// Baseline and progressive, 4:2:0, 4:2:2, 4:4:4, gray and CMYK: every byte equals Pillow's.
    func testEveryKindDecodesLikePillow() throws {
        let m = try manifest()
        XCTAssertEqual(Set(m.decode.map(\.pilMode)), ["RGB", "L", "CMYK"])
        for c in m.decode {
            let img = try ImageReader.read(path: jpeg(c.file))
            XCTAssertEqual(img.width, c.width, c.file)
            XCTAssertEqual(img.height, c.height, c.file)
            let want = try raw(c.expected)
            let diff = zip(img.pixels, want).filter { $0 != $1 }.count
            XCTAssertEqual(img.pixels.count, want.count, c.file)
            XCTAssertEqual(diff, 0, "\(c.file) (\(c.note)): \(diff) bytes differ from Pillow")
        }
    }

    /// The kinds really differ (otherwise equal bytes above would prove less): 4:2:0 is not 4:4:4.
    func testSubsamplingChangesThePixels() throws {
        let a = try ImageReader.read(path: jpeg("baseline420.jpg")), b = try ImageReader.read(path: jpeg("baseline444.jpg"))
        XCTAssertNotEqual(a.pixels, b.pixels)
    }

    /// The photo through the whole eval transform equals Pillow + numpy's tensor, and a model gives
    /// the same logits on both within 1e-4.
    func testPhotoInputAndLogitsMatchPillowPreparedTensor() throws {
        let p = try XCTUnwrap(try manifest().preprocess.first)
        let cfg = PreprocessConfig(inputSize: p.inputSize, cropPct: p.cropPct, mean: p.mean, std: p.std, channels: 3)
        let ours = try Preprocess.preprocess(try ImageReader.read(path: jpeg(p.file)), cfg)
        let pillow = littleEndianFloats(try raw(p.tensor))
        XCTAssertEqual(ours.count, pillow.count)
        XCTAssertLessThanOrEqual(maxAbsDiff(ours, pillow), 1e-6)

        let config = ViTConfig(imageSize: p.inputSize, patchSize: 8, channels: 3, dim: 32, depth: 2, heads: 2, mlpDim: 64, numClasses: 10)
        let model = try ViTModel(config: config)
        model.initializeForTraining(seed: 7)
        let a = model.forward(images: ours, batch: 1, workers: 1).logits.data
        let b = model.forward(images: pillow, batch: 1, workers: 1).logits.data
        XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 1e-4)
    }

    func testBrokenFilesThrowOneClearLine() throws {
        for f in try manifest().errors {
            XCTAssertThrowsError(try ImageReader.read(path: jpeg(f.file)), f.file) { error in
                guard let e = error as? ImageError else { return XCTFail("\(f.file): \(error)") }
                XCTAssertEqual("\(e.kind)", f.kind, "\(f.file): \(e)")
                XCTAssertFalse(e.description.contains("\n"))
                XCTAssertTrue(e.description.hasPrefix("cannot read \(jpeg(f.file)): "), e.description)
            }
        }
    }

    /// The bomb header declares 60000 x 60000: refused from the header, before 10 GB are allocated.
    func testPixelCapIsCheckedBeforeDecoding() throws {
        XCTAssertThrowsError(try ImageReader.read(path: jpeg("bomb_header.jpg"))) { error in
            XCTAssertTrue("\(error)".contains("60000x60000"), "\(error)")
        }
        XCTAssertThrowsError(try ImageReader.read(path: jpeg("baseline420.jpg"), maxPixels: 37 * 29 - 1))
        XCTAssertNoThrow(try ImageReader.read(path: jpeg("baseline420.jpg"), maxPixels: 37 * 29))
    }

    /// Pillow's cmyk2rgb on hand-picked values: white, black, pure K, pure C, and a mixed pixel
    /// (the fixture checks the same code on a real file; this pins the formula at its corners).
    func testInvertedCMYKConversion() {
        // Stored (inverted) bytes: 255 means no ink.
        let stored: [UInt8] = [255, 255, 255, 255,  0, 0, 0, 0,  255, 255, 255, 0,  0, 255, 255, 255,  155, 205, 55, 205]
        let rgb = JPEGCodec.invertedCMYKToRGB(stored, pixels: 5)
        XCTAssertEqual(Array(rgb[0..<3]), [255, 255, 255])
        XCTAssertEqual(Array(rgb[3..<6]), [0, 0, 0])
        XCTAssertEqual(Array(rgb[6..<9]), [0, 0, 0])
        XCTAssertEqual(Array(rgb[9..<12]), [0, 255, 255])
        // C = 100, M = 50, Y = 200, K = 50: nk = 205; 205 - MULDIV255(100, 205) = 205 - 80 = 125, ...
        XCTAssertEqual(Array(rgb[12..<15]), [125, 165, 44])
    }
}

final class ImageReaderTests: XCTestCase {
    /// The decoder is chosen by the first bytes: a JPEG named .png and a PNG named .jpg both read.
    func testDecoderIsChosenByContentNotName() throws {
        let dir = try tempDir(self)
        let jpegAsPNG = dir.appendingPathComponent("photo.png").path
        let pngAsJPEG = dir.appendingPathComponent("picture.jpg").path
        try FileManager.default.copyItem(atPath: jpeg("baseline420.jpg"), toPath: jpegAsPNG)
        let png = jpegDir.appendingPathComponent("../rgb8.png").standardized.path
        try FileManager.default.copyItem(atPath: png, toPath: pngAsJPEG)
        XCTAssertEqual(try ImageReader.read(path: jpegAsPNG), try ImageReader.read(path: jpeg("baseline420.jpg")))
        XCTAssertEqual(try ImageReader.read(path: pngAsJPEG), try PNGCodec.read(path: png))
    }

    func testBadInputMessages() throws {
        let dir = try tempDir(self)
        let empty = dir.appendingPathComponent("empty.jpg").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let gif = dir.appendingPathComponent("anim.jpg").path
        _ = FileManager.default.createFile(atPath: gif, contents: Data("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8))
        let text = dir.appendingPathComponent("notes.png").path
        _ = FileManager.default.createFile(atPath: text, contents: Data("hello".utf8))
        let cases: [(String, ImageError.Kind, String)] = [
            (empty, .corrupt, "the file is empty"),
            (gif, .notImage, "a GIF image"),
            (text, .notImage, "68 65 6c 6c"),
            (dir.path, .ioError, "it is a directory"),
            (dir.appendingPathComponent("missing.jpg").path, .fileNotFound, "no such file"),
        ]
        for (path, kind, fragment) in cases {
            XCTAssertThrowsError(try ImageReader.read(path: path), path) { error in
                guard let e = error as? ImageError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.kind, kind, e.description)
                XCTAssertTrue(e.description.contains(fragment), e.description)
                XCTAssertFalse(e.description.contains("\n"))
            }
        }
    }

    func testSniffing() {
        XCTAssertEqual(ImageFormat.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]), .png)
        XCTAssertEqual(ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
        XCTAssertNil(ImageFormat.sniff([0xFF, 0xD8]))
        XCTAssertNil(ImageFormat.sniff([UInt8]()))
    }
}
