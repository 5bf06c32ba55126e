import Foundation

/// Everything that decides a training run; stored in every checkpoint so `--resume` continues the
/// same run.
public struct TrainSettings: Codable, Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int = 128
    public var peakLR: Float = 1e-3
    public var minLR: Float = 1e-5
    public var warmupSteps: Int = 300
    public var weightDecay: Float = 0.05
    public var labelSmoothing: Float = 0.1
    public var clipNorm: Float = 1
    public var seed: UInt64 = 0
    public var padding: Int = 2
    public var flip: Bool = true
    public init(epochs: Int) { self.epochs = epochs }
}

/// Where a run is: enough to continue it exactly.
public struct TrainState: Codable, Sendable, Equatable {
    public var epoch = 0
    /// Steps done inside `epoch`.
    public var stepInEpoch = 0
    public var globalStep = 0
    public var trainSeconds = 0.0
    /// Test top-1 after each finished epoch.
    public var testTop1: [Double] = []
    public init() {}
}

/// Trains a ViT from scratch on an image-classification set (Fashion-MNIST here): AdamW with
/// decoupled weight decay (none on biases, norms, tokens, pos_embed), linear warm-up then cosine
/// decay, label smoothing, gradient clipping, random crop with padding and horizontal flip.
///
/// Reproducible and exactly resumable: the shuffle of epoch e and the augmentation of step s come
/// from generators seeded by (seed, e) and (seed, s), not from a stream that a restart would lose,
/// so a run stopped at any step boundary and resumed from its checkpoint makes the same updates.
public final class Trainer {
    public let model: ViTModel
    public let settings: TrainSettings
    public let data: BatchMaker
    public private(set) var state: TrainState
    public let optimizer: AdamW
    let schedule: LRSchedule
    let acts: Activations
    let scratch: BackwardScratch
    let grads: Gradients
    let decayMask: [Float]
    let workers: Int
    var images: [Float]
    var labels: [Int32]
    var probs: [Float]
    var dlogits: [Float]

    public var stepsPerEpoch: Int { (data.dataset.count + settings.batchSize - 1) / settings.batchSize }
    public var totalSteps: Int { stepsPerEpoch * settings.epochs }

    public init(model: ViTModel, data: BatchMaker, settings: TrainSettings, workers: Int = 2,
                state: TrainState = TrainState(), optimizer: AdamW? = nil) {
        self.model = model
        self.data = data
        self.settings = settings
        self.state = state
        self.workers = workers
        let c = model.config, b = settings.batchSize
        self.optimizer = optimizer ?? AdamW(count: model.table.count)
        let steps = (data.dataset.count + b - 1) / b * settings.epochs
        schedule = LRSchedule(peak: settings.peakLR, warmupSteps: settings.warmupSteps, totalSteps: steps, minLR: settings.minLR)
        acts = Activations(config: c, batch: b, keepAllLayers: true)
        scratch = BackwardScratch(config: c, batch: b, maxWorkers: max(workers, 1))
        grads = Gradients(model: model)
        decayMask = model.weightDecayMask()
        images = [Float](repeating: 0, count: b * c.channels * c.imageSize * c.imageSize)
        labels = [Int32](repeating: 0, count: b)
        probs = [Float](repeating: 0, count: b * c.numClasses)
        dlogits = probs
    }

    public var isFinished: Bool { state.epoch >= settings.epochs }

    /// The shuffled order of the training set in epoch e.
    func order(epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: settings.seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(epoch) &+ 1)
        return BatchMaker.permutation(count: data.dataset.count, rng: &rng)
    }

    public struct StepResult: Sendable {
        public var loss: Double
        public var correct: Int
        public var images: Int
        public var gradNorm: Float
        public var lr: Float
    }

    private var cachedOrder: (epoch: Int, order: [Int])?

    /// One optimisation step on the next batch; advances the state (and the epoch at its end).
    public func step() -> StepResult {
        let c = model.config, k = c.numClasses, bs = settings.batchSize
        if cachedOrder?.epoch != state.epoch { cachedOrder = (state.epoch, order(epoch: state.epoch)) }
        let ord = cachedOrder!.order
        let lo = state.stepInEpoch * bs, hi = min(lo + bs, ord.count)
        let b = hi - lo
        var rng = SplitMix64(seed: settings.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(state.globalStep) &+ 7)
        let augment = settings.padding > 0 || settings.flip ? Augment(padding: settings.padding, flip: settings.flip) : nil
        images.withUnsafeMutableBufferPointer { img in
            labels.withUnsafeMutableBufferPointer { lab in
                data.fill(indices: ord[lo..<hi], into: img.baseAddress!, labels: lab.baseAddress!, augment: augment, rng: &rng)
                model.forward(acts, images: img.baseAddress!, batch: b, workers: workers)
            }
        }
        let loss = CrossEntropy.forward(probs: &probs, logits: acts.logits, labels: labels, batch: b, classes: k,
                                        smoothing: settings.labelSmoothing)
        var correct = 0
        for i in 0..<b {
            let z = acts.logits + i * k
            var best = 0
            for j in 1..<k where z[j] > z[best] { best = j }
            if best == Int(labels[i]) { correct += 1 }
        }
        for i in 0..<(b * k) { dlogits[i] = 0 }
        CrossEntropy.backward(dlogits: &dlogits, probs: probs, labels: labels, batch: b, classes: k,
                              smoothing: settings.labelSmoothing, scale: 1 / Float(b))
        grads.zero()
        model.backward(acts, scratch: scratch, grads: grads, dlogits: dlogits, batch: b, workers: workers)
        let norm = AdamW.clipGradNorm(grads.arena.base, count: model.table.count, maxNorm: settings.clipNorm)
        let lr = schedule.lr(at: state.globalStep)
        decayMask.withUnsafeBufferPointer { mask in
            optimizer.update(params: model.params.base, grads: grads.arena.base, lr: lr,
                             weightDecay: settings.weightDecay, decayMask: mask.baseAddress!)
        }
        state.globalStep += 1
        state.stepInEpoch += 1
        if state.stepInEpoch >= stepsPerEpoch {
            state.epoch += 1
            state.stepInEpoch = 0
        }
        return StepResult(loss: loss, correct: correct, images: b, gradNorm: norm, lr: lr)
    }

    /// Wall time spent in steps, kept across resumes (for the README's cost figures).
    public func stateTime(add seconds: Double) { state.trainSeconds += seconds }

    public func recordTest(top1: Double) { state.testTop1.append(top1) }

    // MARK: - Checkpoints

    /// Parameters (timm names), AdamW moments (`adamw.m.<name>`, `adamw.v.<name>`), and the
    /// settings and state as JSON metadata; written atomically.
    public func saveCheckpoint(to path: String, extraMetadata: [String: String] = [:]) throws {
        var meta = model.metadata
        for (k, v) in extraMetadata { meta[k] = v }
        meta["format"] = "pt"
        meta["config"] = model.config.metadataJSON
        meta["train_settings"] = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        meta["train_state"] = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        meta["adamw_step"] = String(optimizer.step)
        var w = SafeTensorsWriter(metadata: meta)
        for item in model.table.items {
            w.add(item.name, shape: item.shape, data: UnsafeBufferPointer(start: model.params.base + item.offset, count: item.count))
        }
        for item in model.table.items {
            w.add("adamw.m." + item.name, shape: item.shape, data: UnsafeBufferPointer(start: optimizer.m.base + item.offset, count: item.count))
            w.add("adamw.v." + item.name, shape: item.shape, data: UnsafeBufferPointer(start: optimizer.v.base + item.offset, count: item.count))
        }
        try w.write(to: path)
    }

    /// Rebuilds a trainer from a checkpoint written by `saveCheckpoint`.
    public static func resume(from path: String, data: BatchMaker, workers: Int = 2) throws -> Trainer {
        let file = try SafeTensorsFile(path: path)
        guard let s = file.metadata["train_settings"], let st = file.metadata["train_state"],
              let stepText = file.metadata["adamw_step"], let adamStep = Int(stepText) else {
            throw EngineError("\(path) is not a TokenScope training checkpoint (no train_settings/train_state metadata)")
        }
        let settings: TrainSettings, state: TrainState
        do {
            settings = try JSONDecoder().decode(TrainSettings.self, from: Data(s.utf8))
            state = try JSONDecoder().decode(TrainState.self, from: Data(st.utf8))
        } catch {
            throw EngineError("\(path): training metadata is damaged (\(error)); start again without --resume")
        }
        let model = try ViTModel(file: file, ignoring: { $0.hasPrefix("adamw.") })
        let opt = AdamW(count: model.table.count)
        for item in model.table.items {
            for (prefix, arena) in [("adamw.m.", opt.m), ("adamw.v.", opt.v)] {
                guard let e = file.entries[prefix + item.name], e.shape == item.shape else {
                    throw EngineError("\(path): missing or misshapen optimizer tensor \(prefix + item.name)")
                }
                try file.read(prefix + item.name, into: arena.base + item.offset)
            }
        }
        opt.step = adamStep
        guard model.config.channels == 1, data.dataset.rows == model.config.imageSize else {
            throw EngineError("\(path): the checkpoint's model does not take \(data.dataset.rows)x\(data.dataset.cols) gray images")
        }
        return Trainer(model: model, data: data, settings: settings, workers: workers, state: state, optimizer: opt)
    }
}
