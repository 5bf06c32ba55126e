import Foundation

/// Top-1 accuracy and mean cross-entropy of a model on a labelled set (the measurement behind
/// `eval` and the per-epoch test score of `train`).
public struct EvalResult: Sendable {
    public var images: Int
    public var correct: Int
    public var loss: Double
    public var seconds: Double
    /// Per image, in order: whether its top-1 was right (what paired tests compare).
    public var hits: [Bool] = []
    public var top1: Double { images == 0 ? 0 : 100 * Double(correct) / Double(images) }
    public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }

    public init(images: Int, correct: Int, loss: Double, seconds: Double) {
        self.images = images; self.correct = correct; self.loss = loss; self.seconds = seconds
    }
}

extension ViTModel {
    /// `image(i, dst)` writes image i (preprocessed, [C, S, S]) into dst; labels[i] is its class.
    public func evaluate(count: Int, labels: [Int32], batch: Int = 64, workers: Int = 2,
                         image: (Int, UnsafeMutablePointer<Float>) -> Void) -> EvalResult {
        let bsz = max(1, min(batch, count))
        let acts = Activations(config: config, batch: bsz, keepAllLayers: false)
        return Self.evaluate(config: config, count: count, labels: labels, batch: bsz, image: image) { x, b in
            forward(acts, images: x, batch: b, workers: workers)
            return UnsafePointer(acts.logits)
        }
    }

    /// The same for any forward pass (`run(images, b)` returns logits [b, classes]), e.g. a compressed model's.
    public static func evaluate(config c: ViTConfig, count: Int, labels: [Int32], batch bsz: Int,
                                image: (Int, UnsafeMutablePointer<Float>) -> Void,
                                run: (UnsafePointer<Float>, Int) -> UnsafePointer<Float>) -> EvalResult {
        let per = c.channels * c.imageSize * c.imageSize, k = c.numClasses
        var input = [Float](repeating: 0, count: bsz * per)
        var probs = [Float](repeating: 0, count: bsz * k)
        var correct = 0
        var hits: [Bool] = []
        hits.reserveCapacity(count)
        var lossSum = 0.0
        let t0 = Clock.now()
        var start = 0
        while start < count {
            let b = min(bsz, count - start)
            input.withUnsafeMutableBufferPointer { buf in
                for i in 0..<b { image(start + i, buf.baseAddress! + i * per) }
            }
            let logits = input.withUnsafeBufferPointer { run($0.baseAddress!, b) }
            let lab = Array(labels[start..<(start + b)])
            lossSum += Double(b) * CrossEntropy.forward(probs: &probs, logits: logits, labels: lab, batch: b, classes: k, smoothing: 0)
            for i in 0..<b {
                let z = logits + i * k
                var best = 0
                for j in 1..<k where z[j] > z[best] { best = j }
                hits.append(best == Int(lab[i]))
                if best == Int(lab[i]) { correct += 1 }
            }
            start += b
        }
        var r = EvalResult(images: count, correct: correct, loss: count > 0 ? lossSum / Double(count) : 0, seconds: Clock.now() - t0)
        r.hits = hits
        return r
    }
}
