import Engine

/// EViT's step inside a reducing block: per image, `AttentiveFusion` on this block's attention
/// probabilities and its attention residual.
///
///     res1 [B, t, D], att [B, H, t, t]  ->  out [B, prefix + k + 1, D]
final class EViTReducer: TokenReducer {
    let model: EViTModel
    let tokenCounts: [TokenCount]

    init(_ model: EViTModel) {
        self.model = model
        tokenCounts = model.tokenCounts
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
        Parallel.chunks(b, workers: workers) { range in
            for i in range {
                let plan = AttentiveFusion.plan(att: a.att + i * h * t * t, heads: h, tokens: t, prefix: pre, keep: k)
                AttentiveFusion.apply(plan, x: a.res1 + i * t * d, prefix: pre, dim: d, into: o.p + i * u * d)
                let m = AttentiveFusion.mapping(plan, prefix: pre)
                tracker.remap(image: i, newOf: m.newOf, carry: m.carry)
            }
        }
    }
}
