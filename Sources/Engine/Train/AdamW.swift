import RealModule

/// AdamW (Loshchilov & Hutter, decoupled weight decay) as PyTorch's `torch.optim.AdamW` computes
/// it (single-tensor path, amsgrad off), over one flat parameter vector. With t the step number
/// after incrementing (1 on the first update) and every vector of length `count`:
///
///     p ← p · (1 − lr·wd·mask)                      decay first, on the old parameters
///     m ← m + (1 − β1)(g − m)                       = β1·m + (1 − β1)·g (torch uses lerp)
///     v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
///
/// which is p − lr · m̂ / (√v̂ + ε) with m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t). As in PyTorch the
/// hyperparameters are Doubles (Python floats), the bias corrections, the step size and the
/// weights `1 − β1`, `1 − β2` are computed in Double and rounded to Float once, and the
/// element-wise work runs in Float.
/// `mask` is 1 where weight decay applies and 0 where it does not (biases, norms, pos_embed,
/// cls_token); `1 + mask·(f − 1)` with f = Float(1 − lr·wd) reproduces PyTorch's factor exactly for
/// both values.
///
/// Why flat raw pointers: the engine keeps parameters and gradients in one `Arena` each, so one
/// loop over 1.4 M floats with hoisted pointers (vectorised by -O) is the whole optimiser step.
/// `m`, `v` and `step` are public so that checkpoints can save and restore the optimiser state.
public final class AdamW {
    public let count: Int
    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    /// Number of updates done so far; `update` increments it before using it.
    public var step: Int = 0
    /// First moment (`exp_avg` in PyTorch), `count` floats, zero at start.
    public let m: Arena
    /// Second moment (`exp_avg_sq`), `count` floats, zero at start.
    public let v: Arena

    public init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8) {
        precondition(count >= 0, "AdamW: count must be >= 0")
        self.count = count
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        m = Arena(count: count)
        v = Arena(count: count)
    }

    /// One update of `params` (`count` floats) from `grads`, with `decayMask[i]` 1 (decay) or 0.
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, lr: Float,
                       weightDecay: Float, decayMask: UnsafePointer<Float>) {
        step += 1
        let t = Double(step)
        let bc1 = 1 - Double.pow(beta1, t)
        let bc2 = 1 - Double.pow(beta2, t)
        let stepSize = Float(Double(lr) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let decayMinusOne = Float(1 - Double(lr) * Double(weightDecay)) - 1
        let oneMinusB1 = Float(1 - beta1), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), eps = Float(eps)
        let p = params, g = grads, mask = decayMask, mp = m.base, vp = v.base
        // Operation order follows ATen's CPU kernels so results agree to the last bit where they can:
        // lerp(m, g, w) = w < 0.5 ? m + w·(g − m) : g − (g − m)·(1 − w); addcmul(v, g, g, c) = v + c·g·g;
        // addcdiv(p, m, d, −s) = p + (−s·m)/d.
        let w = oneMinusB1, lowWeight = abs(w) < 0.5, oneMinusW = 1 - w
        for i in 0..<count {
            let gi = g[i]
            let pi = p[i] * (1 + mask[i] * decayMinusOne)
            let mOld = mp[i]
            let mi = lowWeight ? mOld + w * (gi - mOld) : gi - (gi - mOld) * oneMinusW
            let vi = vp[i] * b2 + oneMinusB2 * gi * gi
            mp[i] = mi
            vp[i] = vi
            p[i] = pi + (-stepSize * mi) / (vi.squareRoot() / bc2Sqrt + eps)
        }
    }

    /// Scales `g` (`count` floats) in place so that its global L2 norm is at most `maxNorm`, as
    /// `torch.nn.utils.clip_grad_norm_` does: coef = maxNorm / (norm + 1e-6), applied only when
    /// coef < 1. Returns the norm before clipping. The sum of squares runs in Float blocks with
    /// `Relaxed` arithmetic (vectorised) and adds the blocks up in Double, so 1.4 M terms lose
    /// nothing visible. A non-finite norm leaves `g` untouched; the caller should skip the step.
    @discardableResult
    public static func clipGradNorm(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
        let block = 4096
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(start + block, count)
            var s: Float = 0
            for i in start..<end { s = Relaxed.multiplyAdd(g[i], g[i], s) }
            total += Double(s)
            start = end
        }
        let norm = total.squareRoot()
        let coef = Double(maxNorm) / (norm + 1e-6)
        if norm.isFinite && coef < 1 {
            let c = Float(coef)
            for i in 0..<count { g[i] *= c }
        }
        return Float(norm)
    }
}
