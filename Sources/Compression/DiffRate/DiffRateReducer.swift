import Engine

/// DiffRate's step inside a block: per image, `PruneThenMerge` on the block's attention
/// probabilities and attention residual; the sizes then bias the next blocks' attention
/// (+ log size per key) when proportional attention is on.
///
///     res1 [B, t, D], att [B, H, t, t]  ->  out [B, u, D];  size [B, t] -> [B, u]
final class DiffRateReducer: SizeTrackingReducer {
    let model: DiffRateModel
    let tokenCounts: [TokenCount]
    let sizes: TokenSizes
    var proportionalAttention: Bool { model.proportionalAttention }

    init(_ model: DiffRateModel, batch: Int) {
        self.model = model
        tokenCounts = model.tokenCounts
        sizes = TokenSizes(config: model.dense.config, batch: batch)
    }

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
