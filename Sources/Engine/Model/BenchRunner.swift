import Foundation

/// Times repeated forward passes on one fixed random batch (the measurement behind `bench`).
public enum BenchRunner {
    public struct Result: Sendable {
        public var runs: Int
        public var seconds: Double
        public var bestMs: Double
        public var msPerBatch: Double { 1000 * seconds / Double(max(runs, 1)) }
        public var imagesPerSecond = 0.0
    }

    /// What one timed run does.
    public enum Work: String, Sendable {
        /// The plain forward pass (inference).
        case forward
        /// Forward keeping every layer, cross-entropy, and backward with parameter gradients: one
        /// training step without the optimizer (AdamW is a few elementwise passes on top).
        case train
        /// Forward + backward without parameter gradients + the gradient-weighted scores: what the
        /// explorer does for the image on screen (labels: the model's own top-1).
        case scores
    }

    public static func run(_ work: Work, model: ViTModel, batch: Int, threads: Int, seconds: Double) -> Result {
        let c = model.config, k = c.numClasses
        let input = randomInput(count: batch * c.channels * c.imageSize * c.imageSize)
        let labels = (0..<batch).map { Int32($0 % k) }
        let acts = Activations(config: c, batch: batch, keepAllLayers: work != .forward)
        let scratch = work == .forward ? nil : BackwardScratch(config: c, batch: batch, maxWorkers: threads)
        let grads = work == .train ? Gradients(model: model) : nil
        var probs = [Float](repeating: 0, count: batch * k), dlogits = probs
        var scores = [Float](repeating: 0, count: c.depth * c.numPatches)
        return input.withUnsafeBufferPointer { buf in
            let x = buf.baseAddress!
            func once() {
                model.forward(acts, images: x, batch: batch, workers: threads)
                guard let scratch else { return }
                var lab = labels
                if work == .scores {
                    for i in 0..<batch {
                        let z = acts.logits + i * k
                        var best = 0
                        for j in 1..<k where z[j] > z[best] { best = j }
                        lab[i] = Int32(best)
                    }
                }
                CrossEntropy.forward(probs: &probs, logits: acts.logits, labels: lab, batch: batch, classes: k, smoothing: 0)
                for i in dlogits.indices { dlogits[i] = 0 }
                CrossEntropy.backward(dlogits: &dlogits, probs: probs, labels: lab, batch: batch, classes: k, smoothing: 0, scale: 1 / Float(batch))
                grads?.zero()
                scores.withUnsafeMutableBufferPointer { sc in
                    model.backward(acts, scratch: scratch, grads: grads, dlogits: dlogits, batch: batch, workers: threads,
                                   scores: work == .scores ? sc.baseAddress : nil)
                }
            }
            return measure(batch: batch, seconds: seconds, once)
        }
    }

    /// Times `once` (which processes `batch` images): a warm-up of at least 3 runs or 0.5 s (arena
    /// first touches, BLAS thread start, caches), then runs until `seconds` have passed.
    public static func measure(batch: Int, seconds: Double, _ once: () -> Void) -> Result {
        let warm = Clock.now()
        var w = 0
        while w < 3 || (Clock.now() - warm < 0.5 && w < 50) {
            once()
            w += 1
        }
        var runs = 0
        var best = Double.infinity
        let start = Clock.now()
        var elapsed = 0.0
        repeat {
            let t0 = Clock.now()
            once()
            best = min(best, Clock.now() - t0)
            runs += 1
            elapsed = Clock.now() - start
        } while elapsed < seconds
        var r = Result(runs: runs, seconds: elapsed, bestMs: best * 1000)
        r.imagesPerSecond = Double(runs * batch) / elapsed
        return r
    }

    /// A fixed random batch (seed 0, standard normal), the input every benchmark uses.
    public static func randomInput(count: Int) -> [Float] {
        var rng = SplitMix64(seed: 0)
        return (0..<count).map { _ in rng.nextNormal() }
    }
}

/// Monotonic seconds.
public enum Clock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// SplitMix64: small, fast, seedable; used wherever the engine needs reproducible randomness.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    /// Standard normal (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}
