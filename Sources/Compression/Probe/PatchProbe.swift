import Engine
import Foundation

/// A linear probe for spatial information: from one final patch token, is this patch foreground?
///
///     features [P, D]  final patch tokens on the full grid, through the model's final LayerNorm
///     logit    [P]     w . f + b;  foreground when logit > 0
///
/// Trained by logistic regression (full-batch Adam, Double accumulation) on the dense model's
/// tokens; evaluated by mIoU (the mean over background and foreground of intersection / union over
/// all test patches) on the grid each compression method gives back. A method that keeps the
/// spatial layout (Prune and Merge restores every token) should score close to dense; one that
/// throws positions away (EViT) cannot.
public struct PatchProbe: Sendable, Equatable {
    public var weight: [Float]
    public var bias: Float
    public var dim: Int { weight.count }

    public init(weight: [Float], bias: Float) { self.weight = weight; self.bias = bias }

    /// Per patch of a `size` x `size` gray image (0...255 pixels, row-major): 1 when more than half
    /// of the patch's pixels are above `threshold` (0...255), else 0.
    public static func foreground(pixels: UnsafePointer<UInt8>, size: Int, patch: Int, threshold: UInt8 = 64) -> [UInt8] {
        let g = size / patch
        var out = [UInt8](repeating: 0, count: g * g)
        for py in 0..<g {
            for px in 0..<g {
                var above = 0
                for y in 0..<patch { for x in 0..<patch where pixels[(py * patch + y) * size + px * patch + x] > threshold { above += 1 } }
                out[py * g + px] = 2 * above > patch * patch ? 1 : 0
            }
        }
        return out
    }

    /// Logistic regression on `count` rows of `features` [count, D] with 0/1 `labels`, L2 `decay`.
    /// Full batch, Adam, `steps` steps: the problem is small (a few hundred thousand rows of width
    /// D) and convex, so this converges without tuning.
    public static func train(features: [Float], labels: [UInt8], dim d: Int, steps: Int = 300, lr: Double = 0.05,
                             decay: Double = 1e-4) -> PatchProbe {
        let n = labels.count
        precondition(features.count == n * d && n > 0, "PatchProbe.train: \(features.count) floats for \(n) rows of \(d)")
        var w = [Double](repeating: 0, count: d), b = 0.0
        var mw = w, vw = w, mb = 0.0, vb = 0.0
        let b1 = 0.9, b2 = 0.999, eps = 1e-8
        var logits = [Float](repeating: 0, count: n)
        var wf = [Float](repeating: 0, count: d)
        var gw = [Double](repeating: 0, count: d)
        // Class balance: weight each class by half the inverse of its frequency, so a mostly
        // background grid does not teach "always background".
        let pos = Double(labels.reduce(0) { $0 + Int($1) })
        let wPos = pos > 0 ? Double(n) / (2 * pos) : 1, wNeg = pos < Double(n) ? Double(n) / (2 * (Double(n) - pos)) : 1
        for t in 1...max(1, steps) {
            for j in 0..<d { wf[j] = Float(w[j]) }
            features.withUnsafeBufferPointer { f in
                wf.withUnsafeBufferPointer { wp in
                    logits.withUnsafeMutableBufferPointer { z in
                        // z [n, 1] = f [n, d] @ w [d, 1]
                        BLAS.sgemm(m: n, n: 1, k: d, a: f.baseAddress!, lda: d, b: wp.baseAddress!, ldb: 1, beta: 0, c: z.baseAddress!, ldc: 1)
                    }
                }
            }
            for j in 0..<d { gw[j] = decay * w[j] }
            var gb = 0.0
            features.withUnsafeBufferPointer { f in
                for i in 0..<n {
                    let z = Double(logits[i]) + b
                    let p = 1 / (1 + Foundation.exp(-z))
                    let y = Double(labels[i])
                    let g = (p - y) * (y > 0 ? wPos : wNeg) / Double(n)
                    gb += g
                    let row = f.baseAddress! + i * d
                    for j in 0..<d { gw[j] += g * Double(row[j]) }
                }
            }
            let c1 = 1 - Foundation.pow(b1, Double(t)), c2 = 1 - Foundation.pow(b2, Double(t))
            for j in 0..<d {
                mw[j] = b1 * mw[j] + (1 - b1) * gw[j]; vw[j] = b2 * vw[j] + (1 - b2) * gw[j] * gw[j]
                w[j] -= lr * (mw[j] / c1) / ((vw[j] / c2).squareRoot() + eps)
            }
            mb = b1 * mb + (1 - b1) * gb; vb = b2 * vb + (1 - b2) * gb * gb
            b -= lr * (mb / c1) / ((vb / c2).squareRoot() + eps)
        }
        return PatchProbe(weight: w.map(Float.init), bias: Float(b))
    }

    /// 0/1 prediction for each of the rows of `features` [count, D].
    public func predict(_ features: UnsafePointer<Float>, count: Int) -> [UInt8] {
        (0..<count).map { i in
            var z = Double(bias)
            let row = features + i * dim
            for j in 0..<dim { z += Double(weight[j]) * Double(row[j]) }
            return z > 0 ? 1 : 0
        }
    }

    /// Intersection and union counts per class (0 background, 1 foreground), accumulated over
    /// any number of images; `miou` is their mean IoU.
    public struct Confusion: Sendable, Equatable {
        public var intersection = [0, 0], union = [0, 0]
        public init() {}
        public mutating func add(predicted: [UInt8], truth: [UInt8]) {
            for (p, t) in zip(predicted, truth) {
                for c in 0..<2 {
                    let a = Int(p) == c, b = Int(t) == c
                    if a && b { intersection[c] += 1 }
                    if a || b { union[c] += 1 }
                }
            }
        }
        /// Mean over the classes present (a class absent from both prediction and truth is skipped), in percent.
        public var miou: Double {
            let ious = (0..<2).compactMap { union[$0] > 0 ? Double(intersection[$0]) / Double(union[$0]) : nil }
            return ious.isEmpty ? 0 : 100 * ious.reduce(0, +) / Double(ious.count)
        }
    }

    /// Applies the model's final LayerNorm to the patch tokens of a full grid [N, D] (prefix rows
    /// skipped), writing [P, D] into `out`: what the probe reads.
    public static func features(grid: UnsafePointer<Float>, model: ViTModel, into out: UnsafeMutablePointer<Float>) {
        let c = model.config, d = c.dim, p = c.numPatches
        var mean = [Float](repeating: 0, count: p), rstd = mean
        mean.withUnsafeMutableBufferPointer { m in
            rstd.withUnsafeMutableBufferPointer { r in
                LayerNorm.forward(out: out, mean: m.baseAddress!, rstd: r.baseAddress!, inp: grid + c.prefixTokens * d,
                                  weight: model.views.normW, bias: model.views.normB, rows: p, d: d, eps: c.lnEps)
            }
        }
    }

    // MARK: - File

    /// Saves `probe.weight` [1, D] and `probe.bias` [1] with metadata (model, threshold, images, dense mIoU).
    public func save(to path: String, metadata: [String: String]) throws {
        var w = SafeTensorsWriter(metadata: metadata.merging(["format": "pt", "kind": "tokenscope patch probe"]) { a, _ in a })
        w.add("probe.weight", shape: [1, dim], data: weight)
        w.add("probe.bias", shape: [1], data: [bias])
        try w.write(to: path)
    }

    /// Loads a probe and checks it against the model's width.
    public static func load(path: String, dim: Int) throws -> PatchProbe {
        let f = try SafeTensorsFile(path: path)
        let w = try f.tensor("probe.weight"), b = try f.tensor("probe.bias")
        guard w.shape == [1, dim], b.shape == [1] else {
            throw EngineError("\(path): probe.weight is \(w.shape) and probe.bias \(b.shape), expected [1, \(dim)] and [1] for this model; train one for this model with `tokenscope probe --model M --out P`")
        }
        return PatchProbe(weight: w.data, bias: b.data[0])
    }
}
