import Compression
import Engine

/// Gradient-weighted scores over an image folder, for `calibrate` and `compress --data`.
///
/// Which images: a seeded shuffle of the folder's listing (the same Fisher-Yates shuffle the IDX
/// path uses on the training split), then the first `images` of it, so a class folder contributes
/// all its classes even for a small --images. Labels: the class folders', or the model's own top-1
/// for a flat folder.
enum FolderCalibration {
    static func run(model m: ViTModel, folder all: ImageFolder, images: Int, batch: Int, seed: UInt64,
                    threads: Int, strict: Bool, modelName: String,
                    progress: (Int) -> Void = { _ in }) throws -> (Calibration, ImageStream) {
        try all.checkClasses(for: m.config, model: modelName)
        var rng = SplitMix64(seed: seed)
        let order = BatchMaker.permutation(count: all.count, rng: &rng)
        let folder = all.select(Array(order.prefix(images)))
        let per = m.config.channels * m.config.imageSize * m.config.imageSize
        let stream = ImageStream(folder, preprocess: m.evalTransform, workers: threads, window: 2 * batch, strict: strict)
        defer { stream.finish() }
        let cal = try Calibration.run(model: m, batch: batch, workers: threads, labelled: folder.isLabelled, next: { img, lab, n in
            try stream.nextBatch(max: n, per: per, into: img, labels: lab)
        }, progress: progress)
        if let note = stream.skippedSummary { printError(note) }
        guard cal.images > 0 else {
            throw EngineError("\(all.root): none of the \(folder.count) images could be read; see the message above")
        }
        return (cal, stream)
    }

    static func labelsNote(_ f: ImageFolder) -> String {
        f.isLabelled ? "given (class folders)" : "the model's own top-1 (flat folder)"
    }
}
