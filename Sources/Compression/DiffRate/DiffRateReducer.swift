import Engine
import Foundation

/// DiffRate's step inside a block: per image, `PruneThenMerge` on the block's attention
/// probabilities and attention residual; the sizes then bias the next blocks' attention
/// (+ log size per key) when proportional attention is on.
///
///     res1 [B, t, D], att [B, H, t, t]  ->  out [B, u, D];  size [B, t] -> [B, u]
final class DiffRateReducer: TokenReducer {
    let model: DiffRateModel
    let tokenCounts: [TokenCount]
    /// [B, t] sizes, two so a reduction reads one and writes the other.
    private var sizes: [Arena]
    private var current = 0
    private let logSize: Arena
    private var anyMerged = false

    init(_ model: DiffRateModel, batch: Int) {
        self.model = model
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
        let d = c.dim, h = c.heads, pre = c.prefixTokens
        let p = min(t, model.schedule.pruneKept[l])
        let old = SendablePointer(sizes[current].base), new = SendablePointer(sizes[1 - current].base)
        let logs = SendablePointer(logSize.base), o = SendablePointer(out)
        let merges = u < p
        Parallel.chunks(b, workers: workers) { range in
            for i in range {
                let plan = PruneThenMerge.plan(att: a.att + i * h * t * t, heads: h, x: a.res1 + i * t * d, tokens: t, dim: d,
                                               prefix: pre, pruneKept: p, mergeKept: u)
                PruneThenMerge.apply(plan, x: a.res1 + i * t * d, size: old.p + i * t, dim: d, into: o.p + i * u * d, newSize: new.p + i * u)
                for j in 0..<u { logs.p[i * u + j] = Foundation.log(new.p[i * u + j]) }
                tracker.remap(image: i, newOf: plan.newOf, carry: plan.carry)
            }
        }
        current = 1 - current
        if merges { anyMerged = true }
    }
}
