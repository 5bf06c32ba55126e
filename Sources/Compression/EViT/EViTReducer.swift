import Engine

/// EViT's step inside a reducing block: per image, `AttentiveFusion` on this block's attention
/// probabilities and its attention residual.
///
///     res1 [B, t, D], att [B, H, t, t]  ->  out [B, prefix + k + 1, D]
///
/// Backward (the top-k choice is not differentiated; the weights are, as `cls_attn` is not
/// detached in EViT's code): prefix and kept rows take their output's gradient, a fused token j
/// gets a_j * dfused, and d a_j = <x_j, dfused> goes to att[h, 0, prefix + j] divided by H.
final class EViTReducer: DifferentiableReducer {
    let model: EViTModel
    let tokenCounts: [TokenCount]
    let batch: Int
    /// For the backward pass (`forBackward`): per block and image, the candidates kept (best first)
    /// then fused (ascending), and every candidate's head-mean CLS attention ([depth][B, T]).
    private let order: TokenIndexStore?
    private let weights: Arena?

    init(_ model: EViTModel, batch: Int = 0, forBackward: Bool = false) {
        self.model = model
        self.batch = batch
        tokenCounts = model.tokenCounts
        let c = model.dense.config
        order = forBackward ? TokenIndexStore(depth: c.depth, batch: batch, tokens: c.tokens) : nil
        weights = forBackward ? Arena(count: c.depth * batch * c.tokens, zeroed: false) : nil
    }

    func reduces(layer l: Int) -> Bool { model.reducing[l] }
    func reset(batch b: Int) {}
    func keyBias(layer l: Int) -> UnsafePointer<Float>? { nil }

    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int) {
        let c = model.dense.config
        let d = c.dim, h = c.heads, pre = c.prefixTokens
        let k = u - pre - 1
        let o = SendablePointer(out)
        let n = c.tokens
        let kept = weights.map { SendablePointer($0.base + l * batch * n) }
        Parallel.chunks(b, workers: workers) { range in
            for i in range {
                let plan = AttentiveFusion.plan(att: a.att + i * h * t * t, heads: h, tokens: t, prefix: pre, keep: k)
                AttentiveFusion.apply(plan, x: a.res1 + i * t * d, prefix: pre, dim: d, into: o.p + i * u * d)
                let m = AttentiveFusion.mapping(plan, prefix: pre)
                tracker.remap(image: i, newOf: m.newOf, carry: m.carry)
                if let order, let kept {
                    let row = order.row(layer: l, image: i, tokens: n)
                    for (q, j) in (plan.kept + plan.fused).enumerated() { row[q] = Int32(j) }
                    for j in 0..<plan.attention.count { kept.p[i * n + j] = plan.attention[j] }
                }
            }
        }
    }

    func reduceBackward(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, dout: UnsafePointer<Float>,
                        into dx: UnsafeMutablePointer<Float>, clsAttention: UnsafeMutablePointer<Float>,
                        batch b: Int, workers: Int) -> Bool {
        guard let order, let weights else { preconditionFailure("EViTReducer: made without forBackward") }
        let c = model.dense.config
        let d = c.dim, pre = c.prefixTokens, n = c.tokens, k = u - pre - 1, candidates = t - pre
        let heads = Float(c.heads)
        let g = SendablePointer(UnsafeMutablePointer(mutating: dout)), o = SendablePointer(dx), ca = SendablePointer(clsAttention)
        let w = SendablePointer(weights.base + l * batch * n)
        Parallel.chunks(b, workers: workers) { range in
            for i in range {
                let gi = g.p + i * u * d, xi = a.res1 + i * t * d, di = o.p + i * t * d, cls = ca.p + i * t
                let row = order.row(layer: l, image: i, tokens: n)
                cls.update(repeating: 0, count: t)
                di.update(from: gi, count: pre * d)
                for q in 0..<k { (di + (pre + Int(row[q])) * d).update(from: gi + (pre + q) * d, count: d) }
                let fused = gi + (pre + k) * d
                for q in k..<candidates {
                    let j = Int(row[q]), aj = w.p[i * n + j]
                    let x = xi + (pre + j) * d, dst = di + (pre + j) * d
                    var dot: Float = 0
                    for e in 0..<d { dst[e] = aj * fused[e]; dot += x[e] * fused[e] }
                    cls[pre + j] = dot / heads
                }
            }
        }
        return true
    }
}
