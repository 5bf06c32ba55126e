import Engine

/// ToMe's step inside a block (`ToMeBlock.forward` in `tome/patch/timm.py`): after the attention
/// residual, merge r tokens of every image by `BipartiteMatching` on this block's keys, with
/// size-weighted averages; the sizes (`TokenSizes`) then bias the next blocks' attention
/// (+ log s per key) when proportional attention is on.
///
///     res1 [B, t, D], qkv [B, t, 3I]  ->  out [B, t - r, D];  size [B, t] -> [B, t - r]
final class ToMeReducer: SizeTrackingReducer {
    let model: ToMeModel
    let batch: Int
    let tokenCounts: [TokenCount]
    let sizes: TokenSizes
    var proportionalAttention: Bool { model.proportionalAttention }
    /// Per worker: metric [T, hd] and scores [ceil(T/2), floor(T/2)].
    private var scratch: [Arena] = []

    init(_ model: ToMeModel, batch: Int) {
        self.model = model
        self.batch = batch
        tokenCounts = model.tokenCounts
        sizes = TokenSizes(config: model.dense.config, batch: batch)
    }

    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int) {
        let c = model.dense.config
        let d = c.dim, hd = c.headDim, inner = c.innerDim, n = c.tokens
        let metricSize = n * hd, scoreSize = ((n + 1) / 2) * (n / 2)
        while scratch.count < workers { scratch.append(Arena(count: metricSize + scoreSize, zeroed: false)) }
        let old = sizes.old, new = sizes.new, o = SendablePointer(out)
        let bufs = scratch.map { SendablePointer($0.base) }
        Parallel.indexedChunks(b, workers: workers) { w, range in
            let metric = bufs[w].p, scores = bufs[w].p + metricSize
            for i in range {
                BipartiteMatching.metric(qkv: a.qkv + i * t * 3 * inner, tokens: t, heads: c.heads, headDim: hd, into: metric)
                let plan = BipartiteMatching.plan(metric: metric, tokens: t, dim: hd, r: t - u, distilled: c.distilled, scores: scores)
                BipartiteMatching.mergeWeighted(plan, x: a.res1 + i * t * d, size: old.p + i * t, dim: d,
                                                into: o.p + i * u * d, newSize: new.p + i * u)
                tracker.remap(image: i, newOf: plan.newOf, carry: plan.carry)
            }
        }
        sizes.commit(batch: b, tokens: u, withLogs: model.proportionalAttention)
    }
}
