import Engine
import Foundation

/// The training and test images of `train` and `finetune`: the IDX files, or image folders turned
/// into the same in-memory gray images.
///
/// Why gray and in memory: the trainer's batches and augmentation (random crop after padding,
/// flip) work on 8-bit one-channel images held in memory, the Fashion-MNIST kind of model this
/// trainer makes; an image folder of such images (e.g. Fashion-MNIST written as PNG, or any small
/// gray set) trains the same way. Each image is converted as timm would for a one-channel model
/// (PIL convert('L')), then brought to size x size by the eval transform's geometry with
/// crop_pct 1 (shorter side resized with Pillow's bicubic, center crop); images already that size
/// are untouched.
///
/// Folder layout: DIR/train and DIR/test (or DIR/val), each one subfolder per class; or DIR
/// itself with one subfolder per class, which is then the training set and nothing is tested.
struct TrainingData {
    var train: IDXDataset
    var test: IDXDataset?
    /// Class names in id order for folders; nil for IDX (Fashion-MNIST's).
    var classNames: [String]?
    var summary: String

    static func load(_ path: String, wantTest: Bool, size: Int?, threads: Int, strict: Bool) throws -> TrainingData {
        if IDXDataset.isIDXFolder(path) {
            return TrainingData(train: try IDXDataset.load(directory: path, split: .train),
                                test: wantTest ? try IDXDataset.load(directory: path, split: .test) : nil,
                                classNames: nil, summary: "\(path): Fashion-MNIST IDX files")
        }
        let fm = FileManager.default
        let testName = ["test", "val"].first { fm.fileExists(atPath: "\(path)/\($0)") }
        let split = fm.fileExists(atPath: "\(path)/train") && testName != nil
        let trainFolder = try ImageFolder.open(split ? "\(path)/train" : path)
        guard trainFolder.layout == .classes else {
            throw EngineError("\(trainFolder.root): a flat folder has no labels to train on; give one subfolder per class (or DIR/train and DIR/test, each with one subfolder per class)")
        }
        guard trainFolder.classNames.count <= 256 else {
            throw EngineError("\(trainFolder.root): \(trainFolder.classNames.count) classes; the trainer takes at most 256")
        }
        let side = try size ?? firstSide(trainFolder)
        let train = try gray(trainFolder, size: side, threads: threads, strict: strict)
        var test: IDXDataset?
        var summary = trainFolder.summary
        if split, wantTest, let testName {
            let t = try ImageFolder.open("\(path)/\(testName)")
            guard t.classNames == trainFolder.classNames else {
                throw EngineError("\(path)/\(testName) has other class folders than \(path)/train; both need the same classes")
            }
            test = try gray(t, size: side, threads: threads, strict: strict)
            summary += "; test " + t.summary
        } else if wantTest {
            summary += "; no test folder (DIR/train and DIR/test or DIR/val), so nothing is tested"
        }
        return TrainingData(train: train, test: test, classNames: trainFolder.classNames, summary: summary)
    }

    /// The training images split into what is trained on and the last `n`, held out for validation
    /// (nil when `n` is 0). At least one image must stay to train on.
    static func holdingOut(_ n: Int, of train: IDXDataset) throws -> (train: IDXDataset, validation: IDXDataset?) {
        guard n > 0 else { return (train, nil) }
        guard n < train.count else {
            throw EngineError("--validation-images \(n) would hold out all \(train.count) training images; give fewer")
        }
        let (t, v) = train.holdingOut(n)
        return (t, v)
    }

    /// The shorter side of the first image that reads, the size a new model takes.
    private static func firstSide(_ f: ImageFolder) throws -> Int {
        for path in f.files.prefix(100) {
            if let img = try? ImageReader.read(path: path) { return min(img.width, img.height) }
        }
        throw EngineError("\(f.root): none of the first images can be read; check the folder")
    }

    private static func gray(_ f: ImageFolder, size: Int, threads: Int, strict: Bool) throws -> IDXDataset {
        let stream = ImageStream(f, workers: threads, window: 256, strict: strict) { img in
            try grayPixels(img, size: size).map(Float.init)
        }
        defer { stream.finish() }
        var pixels: [UInt8] = [], labels: [UInt8] = []
        pixels.reserveCapacity(f.count * size * size)
        while let s = try stream.next() {
            pixels += s.input.map { UInt8($0) }
            labels.append(UInt8(s.label ?? 0))
        }
        if let note = stream.skippedSummary { printError(note) }
        guard !labels.isEmpty else { throw EngineError("\(f.root): none of the \(f.count) images could be read") }
        return try IDXDataset(rows: size, cols: size, images: pixels, labels: labels)
    }

    /// PIL convert('L'), then resize the shorter side to `size` (bicubic) and center crop.
    static func grayPixels(_ img: RGBImage, size: Int) throws -> [UInt8] {
        let g = img.grayscale()
        if img.width == size && img.height == size { return g }
        let geo = try Preprocess.geometry(width: img.width, height: img.height, PreprocessConfig(inputSize: size, cropPct: 1, mean: [0], std: [1], channels: 1))
        let resized = Preprocess.resizeBicubic(gray: g, width: img.width, height: img.height, toWidth: geo.resizedWidth, toHeight: geo.resizedHeight)
        var out = [UInt8](repeating: 0, count: size * size)
        for y in 0..<size {
            let sy = y + geo.cropTop
            guard sy >= 0, sy < geo.resizedHeight else { continue }
            for x in 0..<size {
                let sx = x + geo.cropLeft
                if sx >= 0, sx < geo.resizedWidth { out[y * size + x] = resized[sy * geo.resizedWidth + sx] }
            }
        }
        return out
    }
}
