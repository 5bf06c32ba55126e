import Engine

/// ToMe's step inside a block (`ToMeBlock.forward` in `tome/patch/timm.py`): after the attention
/// residual, merge r tokens of every image by `BipartiteMatching` on this block's keys, with
/// size-weighted averages; the sizes (`TokenSizes`) then bias the next blocks' attention
/// (+ log s per key) when proportional attention is on.
///
///     res1 [B, t, D], qkv [B, t, 3I]  ->  out [B, t - r, D];  size [B, t] -> [B, t - r]
///
/// Backward (the matching and the sizes are not differentiated): out[n] = sum over the tokens j
/// going to n of s_j x_j / S_n, so dx_j = s_j / S_newOf(j) * dout[newOf(j)].
final class ToMeReducer: SizeTrackingReducer, DifferentiableReducer {
    let model: ToMeModel
    let batch: Int
    let tokenCounts: [TokenCount]
    let sizes: TokenSizes
    var proportionalAttention: Bool { model.proportionalAttention }
    /// Per worker: metric [T, hd] and scores [ceil(T/2), floor(T/2)].
    private var scratch: [Arena] = []
    /// For the backward pass (`forBackward`): per block and image, the new index of every token
    /// and the sizes the tokens had before the merge ([depth][B, T]).
    private let newOf: TokenIndexStore?
    private let oldSizes: Arena?

    init(_ model: ToMeModel, batch: Int, forBackward: Bool = false) {
        self.model = model
        self.batch = batch
        tokenCounts = model.tokenCounts
        let c = model.dense.config
        sizes = TokenSizes(config: c, batch: batch)
        newOf = forBackward ? TokenIndexStore(depth: c.depth, batch: batch, tokens: c.tokens) : nil
        oldSizes = forBackward ? Arena(count: c.depth * batch * c.tokens, zeroed: false) : nil
    }

    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int) {
        let c = model.dense.config
        let d = c.dim, hd = c.headDim, inner = c.innerDim, n = c.tokens
        let metricSize = n * hd, scoreSize = ((n + 1) / 2) * (n / 2)
        while scratch.count < workers { scratch.append(Arena(count: metricSize + scoreSize, zeroed: false)) }
        let old = sizes.old, new = sizes.new, o = SendablePointer(out)
        let bufs = scratch.map { SendablePointer($0.base) }
        let keptSizes = oldSizes.map { SendablePointer($0.base + l * batch * n) }
        Parallel.indexedChunks(b, workers: workers) { w, range in
            let metric = bufs[w].p, scores = bufs[w].p + metricSize
            for i in range {
                BipartiteMatching.metric(qkv: a.qkv + i * t * 3 * inner, tokens: t, heads: c.heads, headDim: hd, into: metric)
                let plan = BipartiteMatching.plan(metric: metric, tokens: t, dim: hd, r: t - u, distilled: c.distilled, scores: scores)
                BipartiteMatching.mergeWeighted(plan, x: a.res1 + i * t * d, size: old.p + i * t, dim: d,
                                                into: o.p + i * u * d, newSize: new.p + i * u)
                tracker.remap(image: i, newOf: plan.newOf, carry: plan.carry)
                if let store = newOf, let keptSizes {
                    let row = store.row(layer: l, image: i, tokens: n)
                    for j in 0..<t { row[j] = plan.newOf[j] }
                    (keptSizes.p + i * n).update(from: old.p + i * t, count: t)
                }
            }
        }
        sizes.commit(batch: b, tokens: u, withLogs: model.proportionalAttention)
    }

    func reduceBackward(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, dout: UnsafePointer<Float>,
                        into dx: UnsafeMutablePointer<Float>, clsAttention: UnsafeMutablePointer<Float>,
                        batch b: Int, workers: Int) -> Bool {
        guard let store = newOf, let oldSizes else { preconditionFailure("ToMeReducer: made without forBackward") }
        let c = model.dense.config, d = c.dim, n = c.tokens
        let g = SendablePointer(UnsafeMutablePointer(mutating: dout)), o = SendablePointer(dx)
        let kept = SendablePointer(oldSizes.base + l * batch * n)
        Parallel.chunks(b, workers: workers) { range in
            var total = [Float](repeating: 0, count: u)
            for i in range {
                let to = store.row(layer: l, image: i, tokens: n), s = kept.p + i * n
                for k in 0..<u { total[k] = 0 }
                for j in 0..<t { total[Int(to[j])] += s[j] }
                for j in 0..<t {
                    let k = Int(to[j]), w = s[j] / total[k]
                    let src = g.p + (i * u + k) * d, dst = o.p + (i * t + j) * d
                    for e in 0..<d { dst[e] = w * src[e] }
                }
            }
        }
        return false
    }
}
