import Foundation
import RealModule

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
    /// Soft distillation weight and temperature (used only with a teacher).
    public var distillAlpha: Float = 0.5
    public var distillTau: Float = 1
    /// Train on the first N images of the set only (nil: all), so a resumed run sees the same subset.
    public var trainImages: Int?
    /// The last N images of the set held out for validation (nil: none): never trained on, scored
    /// after each epoch, so a resumed run holds out the same images.
    public var validationImages: Int?
    public init(epochs: Int) { self.epochs = epochs }

    // Older checkpoints have no distillation fields: decode them with the defaults.
    enum CodingKeys: String, CodingKey {
        case epochs, batchSize, peakLR, minLR, warmupSteps, weightDecay, labelSmoothing, clipNorm, seed, padding, flip, distillAlpha, distillTau
        case trainImages, validationImages
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        peakLR = try c.decode(Float.self, forKey: .peakLR)
        minLR = try c.decode(Float.self, forKey: .minLR)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        weightDecay = try c.decode(Float.self, forKey: .weightDecay)
        labelSmoothing = try c.decode(Float.self, forKey: .labelSmoothing)
        clipNorm = try c.decode(Float.self, forKey: .clipNorm)
        seed = try c.decode(UInt64.self, forKey: .seed)
        padding = try c.decode(Int.self, forKey: .padding)
        flip = try c.decode(Bool.self, forKey: .flip)
        distillAlpha = try c.decodeIfPresent(Float.self, forKey: .distillAlpha) ?? 0.5
        distillTau = try c.decodeIfPresent(Float.self, forKey: .distillTau) ?? 1
        trainImages = try c.decodeIfPresent(Int.self, forKey: .trainImages)
        validationImages = try c.decodeIfPresent(Int.self, forKey: .validationImages)
    }
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

/// Trains a network on an image-classification set (Fashion-MNIST here): AdamW with decoupled
/// weight decay (none on biases, norms, tokens, pos_embed), linear warm-up then cosine decay, label
/// smoothing, gradient clipping, random crop with padding and horizontal flip; optionally soft
/// distillation from a teacher (DeiT's: (1 - alpha) CE + alpha tau^2 KL at temperature tau), which is
/// how Prune and Merge models are fine-tuned.
///
/// Reproducible and exactly resumable: the shuffle of epoch e and the augmentation of step s come
/// from generators seeded by (seed, e) and (seed, s), not from a stream that a restart would lose,
/// so a run stopped at any step boundary and resumed from its checkpoint makes the same updates.
public final class Trainer {
    /// A teacher for distillation: logits [b, classes] for a batch of images.
    public typealias Teacher = (UnsafePointer<Float>, Int) -> UnsafePointer<Float>

    public let network: TrainableNetwork
    public var model: ViTModel { network.base }
    public let settings: TrainSettings
    public let data: BatchMaker
    public private(set) var state: TrainState
    /// One optimizer per trainable tensor (same order as `network.trainable`).
    public let optimizers: [AdamW]
    let schedule: LRSchedule
    let decayMasks: [[Float]]
    let workers: Int
    let teacher: Teacher?
    var images: [Float]
    var labels: [Int32]
    var probs: [Float]
    var dlogits: [Float]
    var teacherProbs: [Float]
    var studentProbs: [Float]

    public var stepsPerEpoch: Int { (data.dataset.count + settings.batchSize - 1) / settings.batchSize }
    public var totalSteps: Int { stepsPerEpoch * settings.epochs }

    public init(network: TrainableNetwork, data: BatchMaker, settings: TrainSettings, workers: Int = 2,
                state: TrainState = TrainState(), optimizers: [AdamW]? = nil, teacher: Teacher? = nil) {
        self.network = network
        // The optimizer writes the parameters in place: packed copies would go stale.
        network.base.unpackWeights()
        self.data = data
        self.settings = settings
        self.state = state
        self.workers = workers
        self.teacher = teacher
        let c = network.base.config, b = settings.batchSize
        let t = network.trainable
        self.optimizers = optimizers ?? t.map { AdamW(count: $0.count) }
        decayMasks = t.map { [Float](repeating: $0.decay ? 1 : 0, count: $0.count) }
        let steps = (data.dataset.count + b - 1) / b * settings.epochs
        schedule = LRSchedule(peak: settings.peakLR, warmupSteps: settings.warmupSteps, totalSteps: steps, minLR: settings.minLR)
        images = [Float](repeating: 0, count: b * c.channels * c.imageSize * c.imageSize)
        labels = [Int32](repeating: 0, count: b)
        probs = [Float](repeating: 0, count: b * c.numClasses)
        dlogits = probs
        teacherProbs = probs
        studentProbs = probs
    }

    /// A dense model trained from its current weights.
    public convenience init(model: ViTModel, data: BatchMaker, settings: TrainSettings, workers: Int = 2) {
        self.init(network: DenseNetwork(model: model, batch: settings.batchSize, workers: workers), data: data,
                  settings: settings, workers: workers)
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
        let ord = cachedOrder!.order  // set on the line above
        let lo = state.stepInEpoch * bs, hi = min(lo + bs, ord.count)
        let b = hi - lo
        var rng = SplitMix64(seed: settings.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(state.globalStep) &+ 7)
        let augment = settings.padding > 0 || settings.flip ? Augment(padding: settings.padding, flip: settings.flip) : nil
        var teacherLogits: UnsafePointer<Float>?
        let logits: UnsafePointer<Float> = images.withUnsafeMutableBufferPointer { img in
            labels.withUnsafeMutableBufferPointer { lab in
                data.fill(indices: ord[lo..<hi], into: img.baseAddress!, labels: lab.baseAddress!, augment: augment, rng: &rng)
            }
            teacherLogits = teacher?(img.baseAddress!, b)
            return network.trainForward(images: img.baseAddress!, batch: b, workers: workers)
        }
        var loss = CrossEntropy.forward(probs: &probs, logits: logits, labels: labels, batch: b, classes: k,
                                        smoothing: settings.labelSmoothing)
        var correct = 0
        for i in 0..<b {
            let z = logits + i * k
            var best = 0
            for j in 1..<k where z[j] > z[best] { best = j }
            if best == Int(labels[i]) { correct += 1 }
        }
        for i in 0..<(b * k) { dlogits[i] = 0 }
        let alpha = teacherLogits == nil ? 0 : settings.distillAlpha
        CrossEntropy.backward(dlogits: &dlogits, probs: probs, labels: labels, batch: b, classes: k,
                              smoothing: settings.labelSmoothing, scale: (1 - alpha) / Float(b))
        if let tl = teacherLogits {
            let kd = SoftDistillation.forward(studentProbs: &studentProbs, teacherProbs: &teacherProbs, student: logits, teacher: tl,
                                              batch: b, classes: k, tau: settings.distillTau)
            loss = (1 - Double(alpha)) * loss + Double(alpha) * kd
            SoftDistillation.backward(dstudent: &dlogits, studentProbs: studentProbs, teacherProbs: teacherProbs,
                                      batch: b, classes: k, tau: settings.distillTau, scale: alpha)
        }
        network.zeroGradients()
        network.trainBackward(dlogits: dlogits, batch: b, workers: workers)
        let tensors = network.trainable
        let norm = Self.clipGlobalNorm(tensors, maxNorm: settings.clipNorm)
        let lr = schedule.lr(at: state.globalStep)
        model.unpackWeights()  // in case someone packed them since the last step
        for (i, t) in tensors.enumerated() {
            decayMasks[i].withUnsafeBufferPointer { mask in
                optimizers[i].update(params: t.param, grads: t.grad, lr: lr, weightDecay: settings.weightDecay, decayMask: mask.baseAddress!)
            }
        }
        state.globalStep += 1
        state.stepInEpoch += 1
        if state.stepInEpoch >= stepsPerEpoch {
            state.epoch += 1
            state.stepInEpoch = 0
        }
        return StepResult(loss: loss, correct: correct, images: b, gradNorm: norm, lr: lr)
    }

    /// PyTorch's clip_grad_norm_ over every tensor together: scale by maxNorm / (norm + 1e-6) when
    /// that is below 1. Returns the norm before clipping; a non-finite norm leaves the gradients alone.
    static func clipGlobalNorm(_ tensors: [TrainableTensor], maxNorm: Float) -> Float {
        var ss = 0.0
        for t in tensors {
            let g = t.grad
            var s: Float = 0
            for i in 0..<t.count { s = Relaxed.multiplyAdd(g[i], g[i], s) }
            ss += Double(s)
        }
        let norm = Float(ss.squareRoot())
        guard norm.isFinite else { return norm }
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 { for t in tensors { for i in 0..<t.count { t.grad[i] *= coef } } }
        return norm
    }

    /// Wall time spent in steps, kept across resumes (for the README's cost figures).
    public func stateTime(add seconds: Double) { state.trainSeconds += seconds }

    public func recordTest(top1: Double) { state.testTop1.append(top1) }

    // MARK: - Checkpoints

    /// Whether a checkpoint tensor is optimizer state (`adamw.m.<name>`, `adamw.v.<name>`) rather than
    /// part of the model; loaders skip these to read a checkpoint as the model it holds.
    public static func isOptimizerState(_ name: String) -> Bool { name.hasPrefix("adamw.") }

    /// The model's tensors, AdamW moments per trainable tensor (`adamw.m.<name>`, `adamw.v.<name>`),
    /// and the settings and state as JSON metadata; written atomically.
    public func saveCheckpoint(to path: String, extraMetadata: [String: String] = [:]) throws {
        var meta = model.metadata
        for (k, v) in extraMetadata { meta[k] = v }
        meta["format"] = "pt"
        meta["config"] = model.config.metadataJSON
        meta["train_settings"] = try stableJSON(settings)
        meta["train_state"] = try stableJSON(state)
        meta["adamw_step"] = String(optimizers.first?.step ?? 0)
        var w = SafeTensorsWriter(metadata: meta)
        network.addModelTensors(to: &w)
        for (t, o) in zip(network.trainable, optimizers) {
            w.add("adamw.m." + t.name, shape: t.shape, data: UnsafeBufferPointer(start: o.m.base, count: t.count))
            w.add("adamw.v." + t.name, shape: t.shape, data: UnsafeBufferPointer(start: o.v.base, count: t.count))
        }
        try w.write(to: path)
    }

    /// Settings and state stored in a checkpoint, checked to be one of ours.
    public static func checkpointInfo(_ file: SafeTensorsFile) throws -> (TrainSettings, TrainState, Int) {
        guard let s = file.metadata["train_settings"], let st = file.metadata["train_state"],
              let stepText = file.metadata["adamw_step"], let adamStep = Int(stepText) else {
            throw EngineError("\(file.source) is not a TokenScope training checkpoint (no train_settings/train_state metadata)")
        }
        do {
            return (try JSONDecoder().decode(TrainSettings.self, from: Data(s.utf8)),
                    try JSONDecoder().decode(TrainState.self, from: Data(st.utf8)), adamStep)
        } catch {
            throw EngineError("\(file.source): training metadata is damaged (\(error)); start again without --resume")
        }
    }

    /// Rebuilds a trainer for `network` (already loaded from the same checkpoint) from `file`.
    public static func resume(from file: SafeTensorsFile, network: TrainableNetwork, data: BatchMaker, workers: Int = 2,
                              teacher: Teacher? = nil) throws -> Trainer {
        let (settings, state, adamStep) = try checkpointInfo(file)
        var opts: [AdamW] = []
        for t in network.trainable {
            let o = AdamW(count: t.count)
            for (prefix, arena) in [("adamw.m.", o.m), ("adamw.v.", o.v)] {
                guard let e = file.entries[prefix + t.name], e.shape == t.shape else {
                    throw EngineError("\(file.source): missing or misshapen optimizer tensor \(prefix + t.name)")
                }
                try file.read(prefix + t.name, into: arena.base)
            }
            o.step = adamStep
            opts.append(o)
        }
        let c = network.base.config
        guard c.channels == 1, data.dataset.rows == c.imageSize else {
            throw EngineError("\(file.source): the checkpoint's model does not take \(data.dataset.rows)x\(data.dataset.cols) gray images")
        }
        return Trainer(network: network, data: data, settings: settings, workers: workers, state: state, optimizers: opts, teacher: teacher)
    }

    /// A dense training checkpoint written by `saveCheckpoint`.
    public static func resume(from path: String, data: BatchMaker, workers: Int = 2) throws -> Trainer {
        try resume(from: try SafeTensorsFile(path: path), data: data, workers: workers)
    }

    /// A dense training checkpoint already opened.
    public static func resume(from file: SafeTensorsFile, data: BatchMaker, workers: Int = 2) throws -> Trainer {
        let (settings, _, _) = try checkpointInfo(file)
        let model = try ViTModel(file: file, ignoring: isOptimizerState)
        return try resume(from: file, network: DenseNetwork(model: model, batch: settings.batchSize, workers: workers),
                          data: data, workers: workers)
    }
}
