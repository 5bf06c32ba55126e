import ArgumentParser
import Compression
import Engine
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a ViT from scratch on Fashion-MNIST (or any IDX image set, or folders of images with one subfolder per class), resumably.",
        discussion: """
        AdamW (no decay on biases, norms, tokens, pos_embed), linear warm-up then cosine decay, label smoothing, gradient clipping, random crop after zero padding and horizontal flip; seeded and reproducible. Checkpoints (parameters, optimizer state, progress) are written atomically every --checkpoint-minutes, at each epoch end and on Ctrl-C; --resume continues exactly where the checkpoint stopped. Progress goes to stderr (a bar on a terminal, log lines otherwise) and, one JSON object per line, to --log.

        Example: tokenscope train --epochs 30 --config dim=96,depth=12,heads=3 --out fmnist-vit.safetensors
        """
    )

    @OptionGroup var job: RunOptions
    @Option(help: "Architecture: comma-separated key=value of dim, depth, heads, patch, mlp (defaults dim=96,depth=12,heads=3,patch=2,mlp=4*dim).") var config: String = ""
    @Option(help: "Epochs to train (the cosine schedule spans them all).") var epochs: Int = 30
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Warm-up steps (linear from 0).") var warmup: Int = 300
    @Option(name: .customLong("init"), help: "Start from this model's weights instead of random ones (same architecture): continues a finished run with a new schedule, e.g. a few more epochs at a lower --lr.") var initFrom: String?

    func validate() throws {
        guard epochs >= 1, epochs <= 10000 else { throw ValidationError("--epochs must be between 1 and 10000") }
        guard lr > 0, lr < 1, warmup >= 0 else { throw ValidationError("--lr must be in (0, 1) and --warmup at least 0") }
        if initFrom != nil && job.resume { throw ValidationError("--init starts a new run; --resume continues one: give one of them") }
    }

    func run() throws {
        try reportingErrors {
            let data = try TrainingData.load(job.data, wantTest: job.testImages > 0, size: nil, threads: job.threads, strict: job.strict)
            let resumed = job.resume ? try job.openCheckpoint() : nil
            let held = try resumed.map { try Trainer.checkpointInfo($0).0.validationImages ?? 0 } ?? job.validationImages
            let (train, validation) = try TrainingData.holdingOut(held, of: data.train)
            let test = data.test
            let classNames = data.classNames ?? IDXDataset.fashionClassNames
            let stats = BatchMaker.fashionMNISTStats(train)
            let maker = BatchMaker(dataset: train, mean: stats.mean, std: stats.std)
            let trainer: Trainer
            if let resumed {
                trainer = try Trainer.resume(from: resumed, data: maker, workers: job.threads)
            } else {
                let cfg = try Self.parseConfig(config, rows: train.rows, classes: classNames.count)
                let model = try ViTModel(config: cfg)
                model.initializeForTraining(seed: job.seed)
                if let initFrom {
                    let src = try ViTModel(path: initFrom)
                    guard src.config == cfg else {
                        throw EngineError("--init \(initFrom) has another architecture (\(src.config.depth) blocks, dim \(src.config.dim)) than --config asks for; give the same --config")
                    }
                    model.params.base.update(from: src.params.base, count: model.params.count)
                }
                // Evaluations during training normalise as the batches do (the saved file says so too).
                model.preprocessing = ModelPreprocessing(mean: [stats.mean], std: [stats.std], cropPct: 1)
                var s = TrainSettings(epochs: epochs)
                s.batchSize = job.batchSize; s.peakLR = lr; s.warmupSteps = warmup; s.weightDecay = job.weightDecay
                s.labelSmoothing = job.smoothing; s.seed = job.seed
                s.validationImages = held > 0 ? held : nil
                trainer = Trainer(model: model, data: maker, settings: s, workers: job.threads)
            }
            var meta = Self.modelMetadata(mean: stats.mean, std: stats.std, classNames: classNames,
                                          dataset: data.classNames == nil ? nil : "image folder \(job.data)")
            meta["training_command"] = job.startingCommand(recorded: trainer.model.metadata["training_command"])
            let c = trainer.model.config
            let current = { AnyModel(DenseModel(trainer.model)) }
            var lastScores: EpochScores?
            let finished = try TrainingLoop.run(trainer, checkpoint: job.checkpointPath, log: job.logPath, metadata: meta,
                                                checkpointMinutes: job.checkpointMinutes, maxSteps: job.maxSteps,
                                                banner: "training \(c.depth) blocks, dim \(c.dim), \(c.heads) heads on \(train.count) images" + (validation.map { " (\($0.count) held out for validation)" } ?? "") + " (data \(data.summary))") {
                let scores = EpochScores.measure(current, validation: validation, test: test, testLimit: job.testImages, threads: job.threads)
                lastScores = scores
                return scores
            }
            guard finished else { return }
            let logFile = try JSONLinesLog(path: job.logPath)
            var final = meta
            final.merge(EpochScores.finalMetadata(last: lastScores, current, validation: validation, test: test, threads: job.threads)) { $1 }
            final["train_settings"] = try stableJSON(trainer.settings)
            try trainer.model.save(to: job.out, metadata: final, replacing: true)
            _ = logFile.write(["event": "done", "out": job.out, "test_top1": final["test_top1"] ?? "n/a", "validation_top1": final["validation_top1"] ?? "n/a"])
            print("wrote \(job.out)" + EpochScores.summary(final))
        }
    }

    /// Metadata that makes a Fashion-MNIST model self-describing for infer/eval/explore.
    static func modelMetadata(mean: Float, std: Float, classNames: [String] = IDXDataset.fashionClassNames,
                              dataset: String? = nil) -> [String: String] {
        let quoted = classNames.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        return ["mean": "[\(mean)]", "std": "[\(std)]", "crop_pct": "1.0", "labels": "[" + quoted.joined(separator: ", ") + "]",
                "dataset": dataset ?? "Fashion-MNIST (Debian package dataset-fashion-mnist, MIT licence)"]
    }

    static func parseConfig(_ spec: String, rows: Int, classes: Int) throws -> ViTConfig {
        var v: [String: Int] = ["dim": 96, "depth": 12, "heads": 3, "patch": 2]
        for part in spec.split(separator: ",") where !part.isEmpty {
            let kv = part.split(separator: "=")
            guard kv.count == 2, let n = Int(kv[1]), ["dim", "depth", "heads", "patch", "mlp"].contains(String(kv[0])) else {
                throw EngineError("--config: \"\(part)\" is not key=value with key dim, depth, heads, patch or mlp")
            }
            v[String(kv[0])] = n
        }
        let dim = v["dim"]!, heads = v["heads"]!
        guard heads > 0, dim % heads == 0 else { throw EngineError("--config: heads \(heads) must divide dim \(dim)") }
        let c = ViTConfig(imageSize: rows, patchSize: v["patch"]!, channels: 1, dim: dim, depth: v["depth"]!, heads: heads,
                          mlpDim: v["mlp"] ?? 4 * dim, numClasses: classes)
        try c.validate()
        return c
    }
}
