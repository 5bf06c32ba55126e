import ArgumentParser
import Compression
import Engine
import Foundation

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a Prune and Merge model with soft distillation from its dense teacher, resumably.",
        discussion: "Trains the merge and recover matrices (and every dense parameter unless --matrices-only) with (1 - alpha) cross-entropy + alpha tau^2 KL(teacher || student) at temperature tau, DeiT's soft distillation. Matrices get no weight decay. Same schedule, augmentation, checkpoints (--resume), progress and JSON-lines log as `train`."
    )

    @Option(help: "Prune and Merge model to start from (from `compress`).") var model: String
    @Option(help: "Dense teacher (usually the model it was compressed from).") var teacher: String
    @Option(help: "Folder with the IDX files.") var data: String = IDXDataset.defaultDirectory
    @Option(help: "Epochs.") var epochs: Int = 2
    @Flag(help: "Train only the merge and recover matrices.") var matricesOnly = false
    @Option(help: "Images per step.") var batchSize: Int = 128
    @Option(help: "Peak learning rate.") var lr: Float = 1e-4
    @Option(help: "Warm-up steps.") var warmup: Int = 100
    @Option(help: "AdamW weight decay (dense parameters only).") var weightDecay: Float = 0.05
    @Option(help: "Label smoothing of the cross-entropy part.") var smoothing: Float = 0.1
    @Option(help: "Distillation weight alpha in [0, 1].") var alpha: Float = 0.5
    @Option(help: "Distillation temperature tau.") var tau: Float = 1
    @Option(help: "Random seed (shuffles, augmentation).") var seed: UInt64 = 0
    @Option(help: "Where the fine-tuned model goes.") var out: String
    @Option(help: "Checkpoint file (default: OUT with .ckpt.safetensors).") var checkpoint: String?
    @Option(help: "Minutes between checkpoints.") var checkpointMinutes: Double = 5
    @Option(help: "JSON-lines log (default: OUT with .log.jsonl).") var log: String?
    @Flag(help: "Continue from the checkpoint.") var resume = false
    @Option(help: "Stop after this many steps.") var maxSteps: Int?
    @Option(help: "Test images to score after each epoch (0 for none).") var testImages: Int = 10000
    @Option(help: "Worker threads.") var threads: Int = defaultThreads

    func validate() throws {
        guard epochs >= 1, epochs <= 1000 else { throw ValidationError("--epochs must be between 1 and 1000") }
        guard batchSize >= 1, batchSize <= 4096 else { throw ValidationError("--batch-size must be between 1 and 4096") }
        guard alpha >= 0, alpha <= 1, tau > 0, lr > 0, lr < 1 else { throw ValidationError("--alpha must be in [0, 1], --tau and --lr positive") }
    }

    func run() throws {
        try reportingErrors {
            let ckpt = checkpoint ?? Train.sibling(out, ".ckpt.safetensors")
            let logPath = log ?? Train.sibling(out, ".log.jsonl")
            let train = try IDXDataset.load(directory: data, split: .train)
            let test = testImages > 0 ? try IDXDataset.load(directory: data, split: .test) : nil
            let teacherModel = try ViTModel(path: teacher)
            let pm: PMModel
            let network: PMNetwork
            let trainer: Trainer
            let teacherActs = Activations(config: teacherModel.config, batch: batchSize, keepAllLayers: false)
            let teach: Trainer.Teacher = { x, b in
                teacherModel.forward(teacherActs, images: x, batch: b, workers: threads)
                return UnsafePointer(teacherActs.logits)
            }
            if resume {
                guard FileManager.default.fileExists(atPath: ckpt) else {
                    throw EngineError("--resume: no checkpoint at \(ckpt); start without --resume or give --checkpoint")
                }
                let file = try SafeTensorsFile(path: ckpt)
                let (settings, _, _) = try Trainer.checkpointInfo(file)
                pm = try PMModel(path: ckpt, ignoring: { $0.hasPrefix("adamw.") })
                let only = file.metadata["matrices_only"] == "true"
                network = PMNetwork(model: pm, batch: settings.batchSize, workers: threads, matricesOnly: only)
                try Self.checkTeacher(teacherModel, pm)
                let maker = BatchMaker(dataset: train, mean: pm.dense.preprocessing.mean[0], std: pm.dense.preprocessing.std[0])
                trainer = try Trainer.resume(from: file, network: network, data: maker, workers: threads, teacher: teach)
            } else {
                pm = try PMModel(path: model)
                try Self.checkTeacher(teacherModel, pm)
                network = PMNetwork(model: pm, batch: batchSize, workers: threads, matricesOnly: matricesOnly)
                var s = TrainSettings(epochs: epochs)
                s.batchSize = batchSize; s.peakLR = lr; s.warmupSteps = warmup; s.weightDecay = weightDecay
                s.labelSmoothing = smoothing; s.seed = seed; s.distillAlpha = alpha; s.distillTau = tau
                let maker = BatchMaker(dataset: train, mean: pm.dense.preprocessing.mean[0], std: pm.dense.preprocessing.std[0])
                trainer = Trainer(network: network, data: maker, settings: s, workers: threads, teacher: teach)
            }
            guard pm.dense.config.channels == 1, pm.dense.config.imageSize == train.rows else {
                throw EngineError("\(model) does not take \(data)'s \(train.rows)x\(train.cols) gray images")
            }
            var meta = pm.metadata
            for k in ["train_settings", "train_state", "adamw_step"] { meta[k] = nil }
            meta["matrices_only"] = network.matricesOnly ? "true" : "false"
            meta["teacher"] = teacher
            let finished = try TrainingLoop.run(trainer, checkpoint: ckpt, log: logPath, metadata: meta,
                                                checkpointMinutes: checkpointMinutes, maxSteps: maxSteps,
                                                banner: "fine-tuning \(network.matricesOnly ? "merge/recover matrices" : "all parameters") of a model running \(pm.channels.map(String.init).joined(separator: " ")) tokens per block") {
                network.forwardPass.writeBack()
                return test.map { evaluate(.pm(pm), on: $0, limit: testImages, threads: threads) }
            }
            guard finished else { return }
            network.forwardPass.writeBack()
            var final = meta
            if let test {
                let e = evaluate(.pm(pm), on: test, limit: test.count, threads: threads)
                final["test_top1"] = String(format: "%.2f", e.top1)
                final["test_images"] = String(e.images)
            }
            final["finetune_command"] = "tokenscope " + CommandLine.arguments.dropFirst().joined(separator: " ")
            final["finetune_settings"] = String(decoding: try JSONEncoder().encode(trainer.settings), as: UTF8.self)
            try pm.save(to: out, metadata: final)
            print("wrote \(out)" + (final["test_top1"].map { " (test top-1 \($0)%)" } ?? ""))
        }
    }

    static func checkTeacher(_ t: ViTModel, _ pm: PMModel) throws {
        let a = t.config, b = pm.dense.config
        guard a.numClasses == b.numClasses, a.imageSize == b.imageSize, a.channels == b.channels else {
            throw EngineError("the teacher takes \(a.channels)x\(a.imageSize)x\(a.imageSize) images with \(a.numClasses) classes; the student \(b.channels)x\(b.imageSize)x\(b.imageSize) with \(b.numClasses)")
        }
    }
}
