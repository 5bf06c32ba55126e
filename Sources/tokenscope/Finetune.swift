import ArgumentParser
import Compression
import Engine
import Foundation

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a compressed model with soft distillation from its dense teacher, resumably: a Prune and Merge file, or a dense model under ToMe or EViT.",
        discussion: """
        Trains with (1 - alpha) cross-entropy + alpha tau^2 KL(teacher || student) at temperature tau, DeiT's soft distillation. Same schedule, augmentation, checkpoints (--resume), progress and JSON-lines log as `train`.

        A Prune and Merge file (from `compress`): the merge and recover matrices (no weight decay) and every dense parameter unless --matrices-only.

        --method tome or evit with its settings on a dense file: every dense parameter, trained under the method; the gradient goes through ToMe's size-weighted merges and EViT's kept and fused tokens (and the attention weights of the fused one), not through the choice of tokens, as in the methods' own training. The file written holds dense weights and records the method and its settings (metadata method, method_arguments), so eval, infer, bench and explore run it under them (an explicit --method overrides).

        Examples:
          tokenscope finetune --model pm.safetensors --teacher dense.safetensors --epochs 4 --lr 2e-4 --out pm-ft.safetensors
          tokenscope finetune --model dense.safetensors --method tome --r 9 --teacher dense.safetensors --epochs 4 --lr 2e-4 --out tome-r9-ft.safetensors
        """
    )

    @Option(help: "Model to start from: a Prune and Merge file (from `compress`), or a dense file with --method.") var model: String
    @Option(help: "Dense teacher (usually the model it was compressed from).") var teacher: String
    @OptionGroup var how: MethodOptions
    @OptionGroup var job: RunOptions
    @Option(help: "Epochs.") var epochs: Int = 2
    @Flag(help: "Train only the merge and recover matrices (Prune and Merge files).") var matricesOnly = false
    @Option(help: "Peak learning rate.") var lr: Float = 1e-4
    @Option(help: "Warm-up steps.") var warmup: Int = 100
    @Option(help: "Distillation weight alpha in [0, 1].") var alpha: Float = 0.5
    @Option(help: "Distillation temperature tau.") var tau: Float = 1
    @Option(help: "Fine-tune on the first N training images only (a quicker epoch; after any --validation-images hold-out; a resumed run keeps the checkpoint's N).") var trainImages: Int?

    func validate() throws {
        guard epochs >= 1, epochs <= 1000 else { throw ValidationError("--epochs must be between 1 and 1000") }
        guard alpha >= 0, alpha <= 1, tau > 0, lr > 0, lr < 1 else { throw ValidationError("--alpha must be in [0, 1], --tau and --lr positive") }
        if let n = trainImages, n < 1 { throw ValidationError("--train-images must be at least 1") }
        if job.resume && how.method != nil { throw ValidationError("--resume continues with the checkpoint's method and settings: drop --method") }
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
            let teacherActs = Activations(config: teacherModel.config, batch: job.batchSize, keepAllLayers: false)
            let teach: Trainer.Teacher = { x, b in
                teacherModel.forward(teacherActs, images: x, batch: b, workers: job.threads)
                return UnsafePointer(teacherActs.logits)
            }
            let subject = try FineTuneSubject.load(resumed == nil ? model : ckpt, choice: try how.resolved(), arguments: try how.settings.parsed(),
                                                   batch: recorded?.batchSize ?? job.batchSize, workers: job.threads, matricesOnly: matricesOnly, resuming: resumed != nil)
            let dense = subject.dense
            try Self.checkTeacher(teacherModel, dense)
            guard dense.config.channels == 1, dense.config.imageSize == trainable.rows else {
                throw EngineError("\(model) does not take \(job.data)'s \(trainable.rows)x\(trainable.cols) gray images")
            }
            let trainer: Trainer
            if let resumed, let settings = recorded {
                let train = settings.trainImages.map { trainable.prefix($0) } ?? trainable
                let maker = BatchMaker(dataset: train, mean: dense.preprocessing.mean[0], std: dense.preprocessing.std[0])
                trainer = try Trainer.resume(from: resumed, network: subject.network, data: maker, workers: job.threads, teacher: teach)
            } else {
                var s = TrainSettings(epochs: epochs)
                s.batchSize = job.batchSize; s.peakLR = lr; s.warmupSteps = warmup; s.weightDecay = job.weightDecay
                s.labelSmoothing = job.smoothing; s.seed = job.seed; s.distillAlpha = alpha; s.distillTau = tau
                s.trainImages = trainImages
                s.validationImages = held > 0 ? held : nil
                let train = s.trainImages.map { trainable.prefix($0) } ?? trainable
                let maker = BatchMaker(dataset: train, mean: dense.preprocessing.mean[0], std: dense.preprocessing.std[0])
                trainer = Trainer(network: subject.network, data: maker, settings: s, workers: job.threads, teacher: teach)
            }
            var meta = subject.startingMetadata
            if !job.resume { meta = Self.movingEarlierRunToHistory(meta) }
            for k in ["train_settings", "train_state", "adamw_step"] { meta[k] = nil }
            meta["teacher"] = teacher
            meta["finetune_command"] = job.startingCommand(recorded: meta["finetune_command"])
            var lastScores: EpochScores?
            let finished = try TrainingLoop.run(trainer, checkpoint: ckpt, log: logPath, metadata: meta,
                                                checkpointMinutes: job.checkpointMinutes, maxSteps: job.maxSteps,
                                                banner: subject.banner + (validation.map { " (\($0.count) training images held out for validation)" } ?? "") + " (data \(data.summary))") {
                lastScores = EpochScores.measure(subject.current, validation: validation, test: test, testLimit: job.testImages, threads: job.threads)
                return lastScores ?? EpochScores()
            }
            guard finished else { return }
            var final = meta
            final.merge(EpochScores.finalMetadata(last: lastScores, subject.current, validation: validation, test: test, threads: job.threads)) { $1 }
            final["finetune_settings"] = try stableJSON(trainer.settings)
            try subject.save(to: job.out, metadata: final)
            print("wrote \(job.out)" + EpochScores.summary(final))
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

    static func checkTeacher(_ t: ViTModel, _ student: ViTModel) throws {
        let a = t.config, b = student.config
        guard a.numClasses == b.numClasses, a.imageSize == b.imageSize, a.channels == b.channels else {
            throw EngineError("the teacher takes \(a.channels)x\(a.imageSize)x\(a.imageSize) images with \(a.numClasses) classes; the student \(b.channels)x\(b.imageSize)x\(b.imageSize) with \(b.numClasses)")
        }
    }
}
