import ArgumentParser
import Compression
import Engine
import Foundation

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accumulate gradient-weighted attention scores (seq_ranks) of a dense model over training images.",
        discussion: """
        For each block and patch: |sum over a batch of dL/dA * A at that key| / (B H N), summed over batches, as the official Prune and Merge code's ranking pass computes it (without its optimiser steps). --data is a folder of Fashion-MNIST IDX files (images from the training split) or a folder of PNG/JPEG images: one subfolder per class (torchvision's ImageFolder; labels from the folders, one folder per model class) or a flat folder (no labels: each image is scored against the model's own top-1, as the official code's labels would be unknown). Either way --images N takes the first N of a seeded shuffle (--seed) of the images (the folder listing is in sorted order, as torchvision's), with timm's eval transform and no augmentation. Unreadable files in a folder are skipped and counted on stderr (--strict: an error). Writes seq_ranks.{i} [num_patches] per block; `compress --ranks` reads them.
        """
    )

    @Option(help: "Dense model (safetensors).") var model: String
    @Option(help: ArgumentHelp(DataSource.help, valueName: "dir")) var data: String = IDXDataset.defaultDirectory
    @Option(help: "Training images to use.") var images: Int = 4096
    @Option(help: "Images per batch (the score is normalised per batch, as the official code does).") var batch: Int = 64
    @Option(help: "Shuffle seed.") var seed: UInt64 = 0
    @Option(help: "Output ranks file (safetensors).") var out: String
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Stop at the first image of a folder that cannot be read (default: skip it and report it at the end).") var strict = false

    func validate() throws {
        guard images >= 1, batch >= 1, batch <= 1024 else { throw ValidationError("--images and --batch must be positive (batch <= 1024)") }
    }

    func run() throws {
        try reportingErrors {
            let m = try ViTModel(path: model)
            m.packWeights(forBackward: true)
            let c = m.config
            let source = try DataSource.open(data)
            let cal: Calibration
            var labels = "given (training labels)"
            switch source {
            case .idx(let dir):
                let train = try IDXDataset.load(directory: dir, split: .train)
                guard c.channels == 1, c.imageSize == train.rows else {
                    throw EngineError("\(model) takes \(c.channels)x\(c.imageSize)x\(c.imageSize) images; \(data) holds 1x\(train.rows)x\(train.cols)")
                }
                let maker = BatchMaker(dataset: train, mean: m.preprocessing.mean[0], std: m.preprocessing.std[0])
                var rng = SplitMix64(seed: seed)
                let order = BatchMaker.permutation(count: train.count, rng: &rng)
                let n = min(images, train.count)
                let progress = ProgressReporter(epochs: 1, totalSteps: (n + batch - 1) / batch)
                var step = 0
                cal = Calibration.run(model: m, count: n, batch: batch, workers: threads, fill: { start, k, img, lab in
                    var unused = SplitMix64(seed: 0)
                    maker.fill(indices: order[start..<(start + k)], into: img, labels: lab, augment: nil, rng: &unused)
                }, progress: { done, _ in
                    step += 1
                    progress.update(epoch: 1, step: step, loss: nil, accuracy: nil, images: done)
                })
                progress.finish()
            case .folder(let folder):
                let n = min(images, folder.count)
                let progress = ProgressReporter(epochs: 1, totalSteps: (n + batch - 1) / batch)
                var step = 0
                (cal, _) = try FolderCalibration.run(model: m, folder: folder, images: n, batch: batch, seed: seed, threads: threads,
                                                     strict: strict, modelName: model) { done in
                    step += 1
                    progress.update(epoch: 1, step: step, loss: nil, accuracy: nil, images: done)
                }
                progress.finish()
                labels = FolderCalibration.labelsNote(folder)
            }
            try cal.save(to: out, metadata: ["model": model, "labels": labels, "seed": String(seed),
                                             "data": data, "command": "tokenscope " + CommandLine.arguments.dropFirst().joined(separator: " ")])
            print("wrote \(out): \(c.depth) blocks x \(c.numPatches) patches from \(cal.images) images in \(cal.batches) batches; data \(source.summary)")
        }
    }
}
