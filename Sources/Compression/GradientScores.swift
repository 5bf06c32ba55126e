import Engine

/// Token importance as Prune and Merge defines it: the gradient-weighted attention score.
///
/// For block i and patch token j (prefix keys CLS/DIST dropped), over a batch of B images with H heads
/// and N tokens:
///
///     score_i[j] = | sum_{b, h, q} dL/dA_i[b, h, q, j] * A_i[b, h, q, j] | / (B * H * N)
///
/// exactly as the official code's attention hook computes it (pm-vit/tmvit.py, `compute_rank_attn`).
/// L is cross-entropy against the given labels, or against the model's own top-1 prediction when
/// there is none (an image on screen has no label). Calibration ("seq_ranks") sums these per-batch
/// absolute values over many batches.
public final class GradientScorer {
    public let model: ViTModel
    public let batch: Int
    public let workers: Int
    let acts: Activations
    let scratch: BackwardScratch
    var probs: [Float]
    var dlogits: [Float]
    var raw: [Float]

    public struct Result: Sendable {
        /// [depth][numPatches], absolute values for this batch.
        public var scores: [[Float]]
        /// [B, classes]
        public var logits: [Float]
        /// The labels the loss used (given, or the model's top-1).
        public var labels: [Int32]
        public var loss: Double
    }

    /// The forward pass of the last `score` call, every block's activations kept. It is the model's
    /// dense pass on those images (the backward only reads it), so a caller that also wants the
    /// dense block outputs or logits reads them here instead of running the pass again.
    public var activations: Activations { acts }

    public init(model: ViTModel, batch: Int, workers: Int = 2) {
        self.model = model
        self.batch = batch
        self.workers = workers
        let c = model.config
        acts = Activations(config: c, batch: batch, keepAllLayers: true)
        scratch = BackwardScratch(config: c, batch: batch, maxWorkers: max(workers, 1))
        probs = [Float](repeating: 0, count: batch * c.numClasses)
        dlogits = probs
        raw = [Float](repeating: 0, count: c.depth * c.numPatches)
    }

    /// Forward + backward (no parameter gradients) + scores for `b` <= batch images [b, C, S, S].
    public func score(images: UnsafePointer<Float>, batch b: Int, labels given: [Int32]? = nil) -> Result {
        precondition(b >= 1 && b <= batch, "GradientScorer: batch \(b) outside 1...\(batch)")
        let c = model.config, k = c.numClasses
        model.forward(acts, images: images, batch: b, workers: workers)
        let labels: [Int32] = given ?? (0..<b).map { i in
            let z = acts.logits + i * k
            var best = 0
            for j in 1..<k where z[j] > z[best] { best = j }
            return Int32(best)
        }
        precondition(labels.count == b && labels.allSatisfy { $0 >= 0 && Int($0) < k }, "GradientScorer: labels")
        let loss = CrossEntropy.forward(probs: &probs, logits: acts.logits, labels: labels, batch: b, classes: k, smoothing: 0)
        for i in 0..<(b * k) { dlogits[i] = 0 }
        CrossEntropy.backward(dlogits: &dlogits, probs: probs, labels: labels, batch: b, classes: k, smoothing: 0, scale: 1 / Float(b))
        model.backward(acts, scratch: scratch, grads: nil, dlogits: dlogits, batch: b, workers: workers, scores: &raw)
        let np = c.numPatches
        let scores = (0..<c.depth).map { l in (0..<np).map { abs(raw[l * np + $0]) } }
        return Result(scores: scores, logits: Array(UnsafeBufferPointer(start: acts.logits, count: b * k)),
                      labels: labels, loss: loss)
    }

    public func score(images: [Float], batch b: Int, labels: [Int32]? = nil) -> Result {
        images.withUnsafeBufferPointer { score(images: $0.baseAddress!, batch: b, labels: labels) }
    }
}
