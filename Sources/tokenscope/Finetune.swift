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
    @OptionGroup var job: RunOptions
    @Option(help: "Epochs.") var epochs: Int = 2
    @Flag(help: "Train only the merge and recover matrices.") var matricesOnly = false
    @Option(help: "Peak learning rate.") var lr: Float = 1e-4
    @Option(help: "Warm-up steps.") var warmup: Int = 100
    @Option(help: "Distillation weight alpha in [0, 1].") var alpha: Float = 0.5
    @Option(help: "Distillation temperature tau.") var tau: Float = 1
    @Option(help: "Fine-tune on the first N training images only (a quicker epoch; after any --validation-images hold-out; a resumed run keeps the checkpoint's N).") var trainImages: Int?

    func validate() throws {
        guard epochs >= 1, epochs <= 1000 else { throw ValidationError("--epochs must be between 1 and 1000") }
        guard alpha >= 0, alpha <= 1, tau > 0, lr > 0, lr < 1 else { throw ValidationError("--alpha must be in [0, 1], --tau and --lr positive") }
        if let n = trainImages, n < 1 { throw ValidationError("--train-images must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let ckpt = job.checkpointPath
            let logPath = job.logPath
            let teacherModel = try ViTModel(path: teacher)
            teacherModel.packWeights()
            let tc = teacherModel.config
            guard tc.channels == 1 else {
                throw EngineError("\(teacher) takes \(tc.channels)-channel images; the trainer fine-tunes one-channel (gray) models only")
            }
            let data = try TrainingData.load(job.data, wantTest: job.testImages > 0, size: tc.imageSize, threads: job.threads, strict: job.strict)
            let test = data.test
            if let names = data.classNames, names.count != tc.numClasses {
                throw EngineError("\(job.data) has \(names.count) class folders but \(teacher) has \(tc.numClasses) classes; class ids come from the sorted folder names, so every class needs its folder")
            }
            let resumed = job.resume ? try job.openCheckpoint() : nil
            let recorded = try resumed.map { try Trainer.checkpointInfo($0).0 }
            let held = recorded.map { $0.validationImages ?? 0 } ?? job.validationImages
            let (trainable, validation) = try TrainingData.holdingOut(held, of: data.train)
            if let n = trainImages, recorded == nil, n > trainable.count {
                throw EngineError("--train-images \(n): only \(trainable.count) training images" + (held > 0 ? " are left after holding out \(held) for validation" : "") + "; give at most \(trainable.count)")
            }
            let fullTrain = data.train
            let pm: PMModel
            let network: PMNetwork
            let trainer: Trainer
            let teacherActs = Activations(config: teacherModel.config, batch: job.batchSize, keepAllLayers: false)
            let teach: Trainer.Teacher = { x, b in
                teacherModel.forward(teacherActs, images: x, batch: b, workers: job.threads)
                return UnsafePointer(teacherActs.logits)
            }
            if let resumed, let settings = recorded {
                let train = settings.trainImages.map { trainable.prefix($0) } ?? trainable
                pm = try PMModel(path: job.checkpointPath, ignoring: Trainer.isOptimizerState)
                let only = resumed.metadata["matrices_only"] == "true"
                network = PMNetwork(model: pm, batch: settings.batchSize, workers: job.threads, matricesOnly: only)
                try Self.checkTeacher(teacherModel, pm)
                let maker = BatchMaker(dataset: train, mean: pm.dense.preprocessing.mean[0], std: pm.dense.preprocessing.std[0])
                trainer = try Trainer.resume(from: resumed, network: network, data: maker, workers: job.threads, teacher: teach)
            } else {
                pm = try PMModel(path: model)
                try Self.checkTeacher(teacherModel, pm)
                network = PMNetwork(model: pm, batch: job.batchSize, workers: job.threads, matricesOnly: matricesOnly)
                var s = TrainSettings(epochs: epochs)
                s.batchSize = job.batchSize; s.peakLR = lr; s.warmupSteps = warmup; s.weightDecay = job.weightDecay
                s.labelSmoothing = job.smoothing; s.seed = job.seed; s.distillAlpha = alpha; s.distillTau = tau
                s.trainImages = trainImages
                s.validationImages = held > 0 ? held : nil
                let train = s.trainImages.map { trainable.prefix($0) } ?? trainable
                let maker = BatchMaker(dataset: train, mean: pm.dense.preprocessing.mean[0], std: pm.dense.preprocessing.std[0])
                trainer = Trainer(network: network, data: maker, settings: s, workers: job.threads, teacher: teach)
            }
            guard pm.dense.config.channels == 1, pm.dense.config.imageSize == fullTrain.rows else {
                throw EngineError("\(model) does not take \(job.data)'s \(fullTrain.rows)x\(fullTrain.cols) gray images")
            }
            var meta = pm.metadata
            if !job.resume { meta = Self.movingEarlierRunToHistory(meta) }
            for k in ["train_settings", "train_state", "adamw_step"] { meta[k] = nil }
            meta["matrices_only"] = network.matricesOnly ? "true" : "false"
            meta["teacher"] = teacher
            meta["finetune_command"] = job.startingCommand(recorded: meta["finetune_command"])
            let current = { () -> AnyModel in
                network.forwardPass.writeBack()
                return AnyModel(pm)
            }
            var lastScores: EpochScores?
            let finished = try TrainingLoop.run(trainer, checkpoint: ckpt, log: logPath, metadata: meta,
                                                checkpointMinutes: job.checkpointMinutes, maxSteps: job.maxSteps,
                                                banner: "fine-tuning \(network.matricesOnly ? "merge/recover matrices" : "all parameters") of a model running \(pm.channels.map(String.init).joined(separator: " ")) tokens per block" + (validation.map { " (\($0.count) training images held out for validation)" } ?? "") + " (data \(data.summary))") {
                lastScores = EpochScores.measure(current, validation: validation, test: test, testLimit: job.testImages, threads: job.threads)
                return lastScores ?? EpochScores()
            }
            guard finished else { return }
            network.forwardPass.writeBack()
            var final = meta
            final.merge(EpochScores.finalMetadata(last: lastScores, current, validation: validation, test: test, threads: job.threads)) { $1 }
            final["finetune_settings"] = try stableJSON(trainer.settings)
            try pm.save(to: job.out, metadata: final)
            print("wrote \(job.out)" + Train.scoreSummary(final))
        }
    }

    /// A fine-tune that starts from an already fine-tuned file keeps the earlier run: its command,
    /// settings and test top-1 are appended to `finetune_history` (a JSON array, oldest first) before
    /// this run's own keys replace them, so a chain of schedules stays readable from the last file.
    static func movingEarlierRunToHistory(_ meta: [String: String]) -> [String: String] {
        guard let command = meta["finetune_command"] else { return meta }
        var history = meta["finetune_history"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any] } ?? []
        var run: [String: Any] = ["command": command]
        if let s = meta["finetune_settings"] {
            run["settings"] = (try? JSONSerialization.jsonObject(with: Data(s.utf8))) ?? s
        }
        for k in ["test_top1", "test_images", "validation_top1", "validation_images"] {
            if let v = meta[k] { run[k] = v }
        }
        history.append(run)
        var out = meta
        for k in ["finetune_command", "finetune_settings", "test_top1", "test_images", "validation_top1", "validation_images"] { out[k] = nil }
        if let data = try? JSONSerialization.data(withJSONObject: history, options: [.sortedKeys, .withoutEscapingSlashes]) {
            out["finetune_history"] = String(decoding: data, as: UTF8.self)
        }
        return out
    }

    static func checkTeacher(_ t: ViTModel, _ pm: PMModel) throws {
        let a = t.config, b = pm.dense.config
        guard a.numClasses == b.numClasses, a.imageSize == b.imageSize, a.channels == b.channels else {
            throw EngineError("the teacher takes \(a.channels)x\(a.imageSize)x\(a.imageSize) images with \(a.numClasses) classes; the student \(b.channels)x\(b.imageSize)x\(b.imageSize) with \(b.numClasses)")
        }
    }
}
