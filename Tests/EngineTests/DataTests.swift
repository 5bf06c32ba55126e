import Foundation
import XCTest
@testable import Engine

/// IDX loading (real Fashion-MNIST when installed, and hand-made files for every error), batch
/// normalisation and augmentation, pixel statistics and the epoch shuffle.
final class DataTests: XCTestCase {
    // MARK: - Hand-made IDX files

    /// A fresh folder under NSTemporaryDirectory(), removed after the test.
    func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "tokenscope-idx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    static func idxImages(count: Int, rows: Int, cols: Int, pixels: [UInt8]? = nil, magic: Int = 0x0803) -> [UInt8] {
        let px = pixels ?? (0..<count * rows * cols).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        return be32(magic) + be32(count) + be32(rows) + be32(cols) + px
    }

    static func idxLabels(_ labels: [UInt8], magic: Int = 0x0801) -> [UInt8] { be32(magic) + be32(labels.count) + labels }

    /// gzip with stored (uncompressed) deflate blocks: enough for zlib to check framing, CRC-32 and
    /// length, with no compressor needed in the tests.
    static func gzipStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            let last: UInt8 = i + n == data.count ? 1 : 0
            out += [last, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8 & 255)]
            out += data[i..<i + n]
            i += n
        } while i < data.count
        let crc = crc32(data), len = UInt32(truncatingIfNeeded: data.count)
        for v in [crc, len] { out += [UInt8(v & 255), UInt8(v >> 8 & 255), UInt8(v >> 16 & 255), UInt8(v >> 24)] }
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    /// Plain fopen/fwrite: Foundation's `Data.write` takes about 6 ms per file here, too slow for
    /// the corruption loop.
    func write(_ bytes: [UInt8], _ dir: String, _ name: String) throws {
        guard let f = fopen(dir + "/" + name, "wb") else { throw EngineError("cannot create \(dir)/\(name)") }
        defer { fclose(f) }
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { throw EngineError("cannot write \(dir)/\(name)") }
    }

    /// A valid train split of 3 images 4x5, plain or gzipped, in a new folder.
    func validDir(gzip: Bool, labels: [UInt8] = [1, 0, 9]) throws -> String {
        let dir = try tempDir()
        let img = Self.idxImages(count: 3, rows: 4, cols: 5), lab = Self.idxLabels(labels)
        let ext = gzip ? ".gz" : ""
        try write(gzip ? Self.gzipStored(img) : img, dir, "train-images-idx3-ubyte" + ext)
        try write(gzip ? Self.gzipStored(lab) : lab, dir, "train-labels-idx1-ubyte" + ext)
        return dir
    }

    func testLoadsHandMadeFilesPlainAndGzipped() throws {
        for gz in [false, true] {
            let d = try IDXDataset.load(directory: try validDir(gzip: gz), split: .train)
            XCTAssertEqual([d.count, d.rows, d.cols], [3, 4, 5])
            XCTAssertEqual(d.labels, [1, 0, 9])
            XCTAssertEqual(d.images, (0..<60).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) })
        }
    }

    func testPrefersGzAndAcceptsConcatenatedMembers() throws {
        let dir = try validDir(gzip: false)
        // A .gz next to the plain file wins; this one is split into two gzip members (as `cat a.gz b.gz`).
        let img = Self.idxImages(count: 3, rows: 4, cols: 5, pixels: [UInt8](repeating: 42, count: 60))
        try write(Self.gzipStored(Array(img[..<30])) + Self.gzipStored(Array(img[30...])), dir, "train-images-idx3-ubyte.gz")
        let d = try IDXDataset.load(directory: dir, split: .train)
        XCTAssertEqual(d.images, [UInt8](repeating: 42, count: 60))
    }

    func testMissingFolderAndFile() throws {
        let dir = try tempDir()
        assertThrowsMessage(try IDXDataset.load(directory: dir + "/nope", split: .train),
                            contains: ["/nope", "dataset-fashion-mnist", "--data DIR"])
        try write(Self.idxImages(count: 3, rows: 4, cols: 5), dir, "t10k-images-idx3-ubyte")
        assertThrowsMessage(try IDXDataset.load(directory: dir, split: .test),
                            contains: ["t10k-labels-idx1-ubyte.gz: no such file", "dataset-fashion-mnist"])
        assertThrowsMessage(try IDXDataset.load(directory: dir + "/t10k-images-idx3-ubyte", split: .test),
                            contains: ["not a folder", "--data"])
    }

    /// Writes the given images/labels bytes as the train split and checks the message fragments.
    func assertLoadFails(images: [UInt8], labels: [UInt8], gzip: Bool = false, classCount: Int = 10,
                         _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try tempDir()
        let ext = gzip ? ".gz" : ""
        try write(images, dir, "train-images-idx3-ubyte" + ext)
        try write(labels, dir, "train-labels-idx1-ubyte" + ext)
        assertThrowsMessage(try IDXDataset.load(directory: dir, split: .train, classCount: classCount),
                            contains: fragments, file: file, line: line)
    }

    func testHeaderErrors() throws {
        let img = Self.idxImages(count: 3, rows: 4, cols: 5), lab = Self.idxLabels([1, 2, 3])
        // Labels where images belong: the example message of the brief.
        try assertLoadFails(images: lab, labels: lab, ["train-images-idx3-ubyte: bad magic 0x00000801",
                                                       "expected 0x00000803 (an IDX image file", "Fashion-MNIST?"])
        // Wrong number of dimensions and wrong element type.
        try assertLoadFails(images: Self.be32(0x0802) + Array(img[4...]), labels: lab,
                            ["bad magic 0x00000802", "unsigned bytes in 2 dimensions", "expected 0x00000803"])
        try assertLoadFails(images: Self.be32(0x0D03) + Array(img[4...]), labels: lab, ["bad magic 0x00000d03", "floats"])
        try assertLoadFails(images: img, labels: img, ["train-labels-idx1-ubyte: bad magic 0x00000803", "expected 0x00000801"])
        try assertLoadFails(images: Array("P5 28 28".utf8), labels: lab, ["bad magic 0x50352032"])
        try assertLoadFails(images: Self.idxImages(count: 3, rows: 0, cols: 5, pixels: []), labels: lab,
                            ["images of 0x5 pixels", "positive"])
        try assertLoadFails(images: [], labels: lab, ["only 0 bytes", "too short"])
        try assertLoadFails(images: Array(img[..<10]), labels: lab, ["truncated header (10 bytes"])
        try assertLoadFails(images: Self.idxImages(count: 0x7FFF_FFFF, rows: 0x7FFF_FFFF, cols: 0x7FFF_FFFF, pixels: []),
                            labels: lab, ["more than the 200 MB limit"])
    }

    func testSizeAndCountErrors() throws {
        let img = Self.idxImages(count: 3, rows: 4, cols: 5), lab = Self.idxLabels([1, 2, 3])
        try assertLoadFails(images: Array(img.dropLast()), labels: lab,
                            ["train-images-idx3-ubyte: truncated", "3 images of 4x5 (60 bytes)", "only 59"])
        try assertLoadFails(images: img, labels: Array(lab.dropLast(2)), ["train-labels-idx1-ubyte: truncated", "3 labels"])
        try assertLoadFails(images: img + [0, 0], labels: lab, ["2 trailing bytes", "60 bytes the header announces"])
        try assertLoadFails(images: img, labels: lab + [7], ["train-labels-idx1-ubyte: 1 trailing bytes"])
        try assertLoadFails(images: img, labels: Self.idxLabels([1, 2]), ["2 labels but", "has 3 images"])
        try assertLoadFails(images: Self.idxImages(count: 0, rows: 4, cols: 5), labels: Self.idxLabels([]), ["contains no images"])
    }

    func testLabelOutOfRange() throws {
        let img = Self.idxImages(count: 3, rows: 4, cols: 5)
        try assertLoadFails(images: img, labels: Self.idxLabels([1, 12, 3]), ["label 12 at index 1", "expected below 10"])
        try assertLoadFails(images: img, labels: Self.idxLabels([1, 2, 3]), classCount: 3, ["label 3 at index 2", "below 3"])
        let dir = try validDir(gzip: false, labels: [1, 12, 3])
        XCTAssertEqual(try IDXDataset.load(directory: dir, split: .train, classCount: 13).labels, [1, 12, 3])
    }

    func testGzipErrors() throws {
        let img = Self.idxImages(count: 3, rows: 4, cols: 5), lab = Self.gzipStored(Self.idxLabels([1, 2, 3]))
        let gz = Self.gzipStored(img)
        var flipped = gz
        flipped[20] ^= 0x40 // a pixel byte inside the stored block: the CRC-32 no longer matches
        try assertLoadFails(images: flipped, labels: lab, gzip: true, ["train-images-idx3-ubyte.gz: corrupt gzip data", "check"])
        var badBlock = gz
        badBlock[10] = 0x07 // block type 3 (reserved)
        try assertLoadFails(images: badBlock, labels: lab, gzip: true, ["corrupt gzip data (invalid block type)"])
        try assertLoadFails(images: Array(gz.dropLast(5)), labels: lab, gzip: true, ["truncated gzip stream"])
        try assertLoadFails(images: Array(gz[..<12]), labels: lab, gzip: true, ["truncated gzip stream"])
        try assertLoadFails(images: gz + [1, 2, 3], labels: lab, gzip: true, ["3 bytes of garbage after the gzip stream"])
        try assertLoadFails(images: img, labels: lab, gzip: true, ["not gzip data", "ends in .gz"])
        try assertLoadFails(images: [0x1f], labels: lab, gzip: true, ["not gzip data"])
        try assertLoadFails(images: [0x1f, 0x8b], labels: lab, gzip: true, ["truncated gzip stream"])
    }

    /// Random damage to valid files (byte changes, cuts, insertions, plain and gzipped) either
    /// loads or throws a one-line EngineError; it never traps.
    func testRandomCorruptionNeverTraps() throws {
        var rng = SplitMix64(seed: 7)
        let img = Self.idxImages(count: 3, rows: 4, cols: 5), lab = Self.idxLabels([1, 2, 3])
        let dir = try tempDir()
        var failures = 0
        for trial in 0..<2000 {
            let gz = trial % 2 == 1
            var a = gz ? Self.gzipStored(img) : img, b = gz ? Self.gzipStored(lab) : lab
            for _ in 0...Int(rng.next() % 3) {
                let which = rng.next() % 2 == 0
                var bytes = which ? a : b
                switch rng.next() % 3 {
                case 0 where !bytes.isEmpty: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1))))
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(bytes.count + 1)))
                }
                if which { a = bytes } else { b = bytes }
            }
            for ext in ["", ".gz"] {
                try? FileManager.default.removeItem(atPath: dir + "/train-images-idx3-ubyte" + ext)
                try? FileManager.default.removeItem(atPath: dir + "/train-labels-idx1-ubyte" + ext)
            }
            try write(a, dir, "train-images-idx3-ubyte" + (gz ? ".gz" : ""))
            try write(b, dir, "train-labels-idx1-ubyte" + (gz ? ".gz" : ""))
            do {
                let d = try IDXDataset.load(directory: dir, split: .train)
                XCTAssertEqual(d.images.count, d.count * d.rows * d.cols)
                XCTAssertEqual(d.labels.count, d.count)
            } catch let e as EngineError {
                failures += 1
                XCTAssertFalse(e.message.contains("\n"), e.message)
                XCTAssertTrue(e.message.hasPrefix(dir + "/train-"), e.message)
            }
        }
        XCTAssertGreaterThan(failures, 1500)
    }

    // MARK: - Real Fashion-MNIST

    func testRealFashionMNISTTestSplit() throws {
        guard FileManager.default.fileExists(atPath: IDXDataset.defaultDirectory) else {
            throw XCTSkip("\(IDXDataset.defaultDirectory) missing (Debian package dataset-fashion-mnist)")
        }
        let d = try IDXDataset.load(directory: IDXDataset.defaultDirectory, split: .test)
        XCTAssertEqual([d.count, d.rows, d.cols], [10000, 28, 28])
        XCTAssertEqual(d.images.count, 10000 * 784)
        var histogram = [Int](repeating: 0, count: 10)
        for l in d.labels { histogram[Int(l)] += 1 }
        XCTAssertEqual(histogram, [Int](repeating: 1000, count: 10))
        // Values checked with Python's gzip module on the same files.
        XCTAssertEqual(Array(d.labels.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        XCTAssertEqual(d.images.prefix(784).reduce(0) { $0 + Int($1) }, 33456)
        let s = BatchMaker.fashionMNISTStats(d)
        XCTAssertEqual(s.mean, 0.28684928, accuracy: 1e-6)
        XCTAssertEqual(s.std, 0.35244418, accuracy: 1e-6)
        XCTAssertEqual(IDXDataset.fashionClassNames[Int(d.labels[0])], "Ankle boot")
    }

    // MARK: - Batches

    /// One 4x5 image with distinct pixels 10...29 and label 3.
    func tinyDataset() throws -> IDXDataset {
        try IDXDataset(rows: 4, cols: 5, images: (0..<20).map { UInt8(10 + $0) }, labels: [3])
    }

    func render(_ maker: BatchMaker, shiftY: Int = 0, shiftX: Int = 0, flip: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: maker.imageSize)
        out.withUnsafeMutableBufferPointer { maker.writeImage(0, shiftY: shiftY, shiftX: shiftX, flip: flip, into: $0.baseAddress!) }
        return out
    }

    func testNormalisationAndFlip() throws {
        let d = try tinyDataset()
        let maker = BatchMaker(dataset: d, mean: 0.25, std: 0.5)
        let plain = render(maker)
        XCTAssertEqual(plain, (0..<20).map { (Float(10 + $0) / 255 - 0.25) / 0.5 })
        let flipped = render(maker, flip: true)
        for y in 0..<4 { for x in 0..<5 { XCTAssertEqual(flipped[y * 5 + x], plain[y * 5 + 4 - x]) } }
        XCTAssertEqual(render(try IDXDataset(rows: 1, cols: 1, images: [255], labels: [0])).first, 1)
    }

    func render(_ d: IDXDataset) -> [Float] { render(BatchMaker(dataset: d, mean: 0, std: 1)) }

    func testCropIsShiftWithZerosIn() throws {
        let d = try tinyDataset()
        let maker = BatchMaker(dataset: d, mean: 0.25, std: 0.5)
        let zero: Float = (0 - 0.25) / 0.5 // pixel value 0, normalised
        let plain = render(maker)
        for (sy, sx) in [(1, -2), (-2, 2), (0, 1), (2, 0)] {
            let out = render(maker, shiftY: sy, shiftX: sx)
            for y in 0..<4 {
                for x in 0..<5 {
                    let r = y + sy, c = x + sx
                    let want = (0..<4).contains(r) && (0..<5).contains(c) ? plain[r * 5 + c] : zero
                    XCTAssertEqual(out[y * 5 + x], want, "shift (\(sy), \(sx)) at (\(y), \(x))")
                }
            }
        }
        // Crop and flip together: the flipped image shifted (flip first in the index formula).
        let both = render(maker, shiftY: 0, shiftX: 1, flip: true)
        XCTAssertEqual(both[0], zero, "column 4 - 0 + 1 = 5 lies in the padding")
        XCTAssertEqual(both[1], plain[4])
        XCTAssertEqual(both[4], plain[1])
    }

    /// A batch of `n` random 6x6 images with labels 0...9.
    func randomDataset(_ n: Int) throws -> IDXDataset {
        var rng = SplitMix64(seed: 99)
        return try IDXDataset(rows: 6, cols: 6, images: (0..<n * 36).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                              labels: (0..<n).map { UInt8($0 % 10) })
    }

    func batch(_ maker: BatchMaker, _ indices: [Int], augment: Augment?, seed: UInt64) -> ([Float], [Int32]) {
        var images = [Float](repeating: .nan, count: indices.count * maker.imageSize)
        var labels = [Int32](repeating: -1, count: indices.count)
        var rng = SplitMix64(seed: seed)
        images.withUnsafeMutableBufferPointer { im in
            labels.withUnsafeMutableBufferPointer { lb in
                maker.fill(indices: indices, into: im.baseAddress!, labels: lb.baseAddress!, augment: augment, rng: &rng)
            }
        }
        return (images, labels)
    }

    func testSeedReproducesBatch() throws {
        let d = try randomDataset(16)
        let maker = BatchMaker(dataset: d, mean: 0.5, std: 0.3)
        let idx = [3, 14, 0, 7, 7, 9, 1, 12]
        let a = batch(maker, idx, augment: Augment(), seed: 1)
        let b = batch(maker, idx, augment: Augment(), seed: 1)
        let c = batch(maker, idx, augment: Augment(), seed: 2)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.0, c.0)
        XCTAssertEqual(a.1, idx.map { Int32($0 % 10) })
        // No augmentation: exactly the normalised images, whatever the seed.
        let plain = batch(maker, idx, augment: nil, seed: 5)
        for (b, i) in idx.enumerated() {
            XCTAssertEqual(Array(plain.0[b * 36..<(b + 1) * 36]), d.images[i * 36..<(i + 1) * 36].map { (Float($0) / 255 - 0.5) / 0.3 })
        }
        // The slice overload gives the same batch as the array one.
        var sliced = [Float](repeating: 0, count: 3 * 36)
        var labels = [Int32](repeating: 0, count: 3)
        var rng = SplitMix64(seed: 1)
        sliced.withUnsafeMutableBufferPointer { im in
            labels.withUnsafeMutableBufferPointer { lb in
                maker.fill(indices: idx[0..<3], into: im.baseAddress!, labels: lb.baseAddress!, augment: Augment(), rng: &rng)
            }
        }
        XCTAssertEqual(sliced, Array(a.0[0..<3 * 36]))
    }

    /// Every augmented image is one of the (2p+1)^2 x 2 shift/flip variants, and over many draws
    /// all of them turn up (uniform offsets, fair flips).
    func testAugmentDrawsEveryVariant() throws {
        let d = try randomDataset(1)
        let maker = BatchMaker(dataset: d, mean: 0, std: 1)
        var variants: [[Float]: Int] = [:]
        for sy in -2...2 { for sx in -2...2 { for f in [false, true] { variants[render(maker, shiftY: sy, shiftX: sx, flip: f)] = 0 } } }
        XCTAssertEqual(variants.count, 50)
        let (images, _) = batch(maker, [Int](repeating: 0, count: 2000), augment: Augment(padding: 2, flip: true), seed: 3)
        for b in 0..<2000 {
            let img = Array(images[b * 36..<(b + 1) * 36])
            guard let n = variants[img] else { return XCTFail("image \(b) is no shift/flip variant") }
            variants[img] = n + 1
        }
        XCTAssertTrue(variants.values.allSatisfy { $0 > 10 }, "\(variants.values.sorted())")
        let flipOnly = batch(maker, [0, 0, 0, 0, 0, 0, 0, 0], augment: Augment(padding: 0, flip: true), seed: 4).0
        let plain = render(maker), mirror = render(maker, flip: true)
        for b in 0..<8 { XCTAssertTrue([plain, mirror].contains(Array(flipOnly[b * 36..<(b + 1) * 36]))) }
    }

    func testStatsOnKnownPixels() throws {
        let d = try IDXDataset(rows: 1, cols: 2, images: [0, 255], labels: [0])
        let s = BatchMaker.fashionMNISTStats(d)
        XCTAssertEqual(s.mean, 0.5, accuracy: 1e-7)
        XCTAssertEqual(s.std, Float(0.5.squareRoot()), accuracy: 1e-7) // unbiased: sqrt(2 * 0.25 / 1)
        XCTAssertEqual(BatchMaker.fashionMNISTStats(try IDXDataset(rows: 1, cols: 2, images: [7, 7], labels: [0])).std, 1)
        XCTAssertThrowsError(try IDXDataset(rows: 2, cols: 2, images: [1, 2, 3], labels: [0]))
    }

    func testPermutation() {
        var r1 = SplitMix64(seed: 11), r2 = SplitMix64(seed: 11), r3 = SplitMix64(seed: 12)
        let a = BatchMaker.permutation(count: 1000, rng: &r1)
        XCTAssertEqual(a.sorted(), Array(0..<1000))
        XCTAssertEqual(a, BatchMaker.permutation(count: 1000, rng: &r2))
        XCTAssertNotEqual(a, BatchMaker.permutation(count: 1000, rng: &r3))
        XCTAssertNotEqual(a, Array(0..<1000))
        var r = SplitMix64(seed: 1)
        XCTAssertEqual(BatchMaker.permutation(count: 0, rng: &r), [])
        XCTAssertEqual(BatchMaker.permutation(count: 1, rng: &r), [0])
        // Every position sees every value about equally often (3 values, 3000 shuffles).
        var counts = [[Int]](repeating: [0, 0, 0], count: 3)
        for _ in 0..<3000 { for (pos, v) in BatchMaker.permutation(count: 3, rng: &r).enumerated() { counts[pos][v] += 1 } }
        XCTAssertTrue(counts.joined().allSatisfy { (850...1150).contains($0) }, "\(counts)")
    }
}
