import Engine

/// DiffRate's step inside a block: per image, `PruneThenMerge` on the block's attention
/// probabilities and attention residual; the sizes then bias the next blocks' attention
/// (+ log size per key) when proportional attention is on.
///
///     res1 [B, t, D], att [B, H, t, t]  ->  out [B, u, D];  size [B, t] -> [B, u]
final class DiffRateReducer: TokenReducer {
    let model: DiffRateModel
    let tokenCounts: [TokenCount]
    private let sizes: TokenSizes

    init(_ model: DiffRateModel, batch: Int) {
        self.model = model
        tokenCounts = model.tokenCounts
        sizes = TokenSizes(config: model.dense.config, batch: batch)
    }

    func reduces(layer l: Int) -> Bool { tokenCounts[l].mlp < tokenCounts[l].attention }

    func reset(batch b: Int) { sizes.reset(batch: b) }

    func keyBias(layer l: Int) -> UnsafePointer<Float>? { model.proportionalAttention ? sizes.keyBias : nil }

    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int) {
        let c = model.dense.config
        let d = c.dim, h = c.heads, pre = c.prefixTokens
        let p = min(t, model.schedule.pruneKept[l])
        let old = sizes.old, new = sizes.new, o = SendablePointer(out)
        Parallel.chunks(b, workers: workers) { range in
            for i in range {
                let plan = PruneThenMerge.plan(att: a.att + i * h * t * t, heads: h, x: a.res1 + i * t * d, tokens: t, dim: d,
                                               prefix: pre, pruneKept: p, mergeKept: u)
                PruneThenMerge.apply(plan, x: a.res1 + i * t * d, size: old.p + i * t, dim: d, into: o.p + i * u * d, newSize: new.p + i * u)
                tracker.remap(image: i, newOf: plan.newOf, carry: plan.carry)
            }
        }
        sizes.commit(batch: b, tokens: u, merged: u < p, withLogs: model.proportionalAttention)
    }
}
