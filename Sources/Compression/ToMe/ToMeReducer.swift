import Engine
import Foundation

/// ToMe's step inside a block (`ToMeBlock.forward` in `tome/patch/timm.py`): after the attention
/// residual, merge r tokens of every image by `BipartiteMatching` on this block's keys, with
/// size-weighted averages; the sizes then bias the next blocks' attention (+ log s per key) when
/// proportional attention is on. Sizes start at 1 for every token (CLS and DIST included); until
/// the first merge there is no bias, as ToMe's `size` is None until then (log 1 = 0 anyway).
///
///     res1 [B, t, D], qkv [B, t, 3I]  ->  out [B, t - r, D];  size [B, t] -> [B, t - r]
final class ToMeReducer: TokenReducer {
    let model: ToMeModel
    let batch: Int
    let tokenCounts: [TokenCount]
    /// [B, t] sizes, packed at the current token count; two so a reduction reads one, writes the other.
    private var sizes: [Arena]
    private var current = 0
    /// [B, t] log of the current sizes: the attention's key bias.
    private let logSize: Arena
    private var anyMerged = false
    /// Per worker: metric [T, hd] and scores [ceil(T/2), floor(T/2)].
    private var scratch: [Arena] = []

    init(_ model: ToMeModel, batch: Int) {
        self.model = model
        self.batch = batch
        tokenCounts = model.tokenCounts
        let n = batch * model.dense.config.tokens
        sizes = [Arena(count: n, zeroed: false), Arena(count: n, zeroed: false)]
        logSize = Arena(count: n)
    }

    func reduces(layer l: Int) -> Bool { tokenCounts[l].mlp < tokenCounts[l].attention }

    func reset(batch b: Int) {
        sizes[0].base.update(repeating: 1, count: b * model.dense.config.tokens)
        current = 0
        anyMerged = false
    }

    func keyBias(layer l: Int) -> UnsafePointer<Float>? {
        model.proportionalAttention && anyMerged ? UnsafePointer(logSize.base) : nil
    }

    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int) {
        let c = model.dense.config
        let d = c.dim, hd = c.headDim, inner = c.innerDim, n = c.tokens
        let metricSize = n * hd, scoreSize = ((n + 1) / 2) * (n / 2)
        while scratch.count < workers { scratch.append(Arena(count: metricSize + scoreSize, zeroed: false)) }
        let old = SendablePointer(sizes[current].base), new = SendablePointer(sizes[1 - current].base)
        let logs = SendablePointer(logSize.base), o = SendablePointer(out)
        let bufs = scratch.map { SendablePointer($0.base) }
        Parallel.indexedChunks(b, workers: workers) { w, range in
            let metric = bufs[w].p, scores = bufs[w].p + metricSize
            for i in range {
                BipartiteMatching.metric(qkv: a.qkv + i * t * 3 * inner, tokens: t, heads: c.heads, headDim: hd, into: metric)
                let plan = BipartiteMatching.plan(metric: metric, tokens: t, dim: hd, r: t - u, distilled: c.distilled, scores: scores)
                BipartiteMatching.mergeWeighted(plan, x: a.res1 + i * t * d, size: old.p + i * t, dim: d,
                                                into: o.p + i * u * d, newSize: new.p + i * u)
                for j in 0..<u { logs.p[i * u + j] = Foundation.log(new.p[i * u + j]) }
                tracker.remap(image: i, newOf: plan.newOf, carry: plan.carry)
            }
        }
        current = 1 - current
        anyMerged = true
    }
}
