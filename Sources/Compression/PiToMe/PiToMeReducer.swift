import Engine

/// PiToMe's step inside a block: per image, `EnergyMatching` on this block's keys, size-weighted
/// averages (`BipartiteMatching.mergeWeighted`), sizes carried to the next merges only.
///
///     res1 [B, t, D], qkv [B, t, 3I]  ->  out [B, u, D];  size [B, t] -> [B, u]
final class PiToMeReducer: SizeTrackingReducer {
    let model: PiToMeModel
    let tokenCounts: [TokenCount]
    let sizes: TokenSizes
    /// PiToMe's DeiT patch does not bias the attention by the sizes.
    let proportionalAttention = false
    /// Per worker: metric [T, hd] and similarity [T, T].
    private var scratch: [Arena] = []

    init(_ model: PiToMeModel, batch: Int) {
        self.model = model
        tokenCounts = model.tokenCounts
        sizes = TokenSizes(config: model.dense.config, batch: batch)
    }

    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int) {
        let c = model.dense.config
        let d = c.dim, hd = c.headDim, inner = c.innerDim, n = c.tokens, pre = c.prefixTokens
        let metricSize = n * hd
        while scratch.count < workers { scratch.append(Arena(count: metricSize + n * n, zeroed: false)) }
        let old = sizes.old, new = sizes.new
        let o = SendablePointer(out), bufs = scratch.map { SendablePointer($0.base) }
        let margin = Float(model.margin(layer: l)), protecting = model.protects(layer: l)
        Parallel.indexedChunks(b, workers: workers) { w, range in
            let metric = bufs[w].p, similarity = bufs[w].p + metricSize
            for i in range {
                BipartiteMatching.metric(qkv: a.qkv + i * t * 3 * inner, tokens: t, heads: c.heads, headDim: hd, into: metric)
                let e = EnergyMatching.energy(metric: metric, tokens: t, prefix: pre, dim: hd, margin: margin, similarity: similarity)
                let plan = EnergyMatching.plan(energy: e, similarity: similarity, tokens: t, prefix: pre, r: t - u, protecting: protecting)
                BipartiteMatching.mergeWeighted(plan, x: a.res1 + i * t * d, size: old.p + i * t, dim: d,
                                                into: o.p + i * u * d, newSize: new.p + i * u)
                tracker.remap(image: i, newOf: plan.newOf, carry: plan.carry)
            }
        }
        sizes.commit(batch: b, tokens: u, withLogs: false)
    }
}
