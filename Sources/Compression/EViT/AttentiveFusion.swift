import Engine

/// EViT's token reorganisation for one image, as `evit.py` (`Attention.forward` with keep_rate,
/// `Block.forward` with `fuse_token`) computes it, on the candidates = every token after the prefix
/// (CLS; DIST too for distilled models, which EViT's code does not handle: both are protected):
///
///     att [H, t, t] (post-softmax)  ->  a [n] = mean over heads of CLS's row at the candidates
///     keep k = ceil(keep_rate * n) (computed by the caller): the top-k of a, best first
///     out [prefix + k + 1, D] = [prefix rows, kept rows in attention order, fused]
///     fused = sum over the rest (ascending position) of a_i * x_i     (NOT renormalised, as the code)
///
/// Ties in the top-k go to the lower position (torch.topk does not promise an order).
public enum AttentiveFusion {
    /// What happens to one image's tokens.
    public struct Plan: Sendable, Equatable {
        /// [n] head-mean CLS attention of each candidate (candidate j is token prefix + j).
        public var attention: [Float]
        /// Candidates kept, best first (their order in the output).
        public var kept: [Int]
        /// Candidates fused, ascending.
        public var fused: [Int]
    }

    /// The head-mean CLS attention over the candidates and the top-k split.
    ///
    ///     att [H, t, t]  ->  Plan (kept.count = k, fused.count = t - prefix - k)
    public static func plan(att: UnsafePointer<Float>, heads: Int, tokens t: Int, prefix: Int, keep k: Int) -> Plan {
        let n = t - prefix
        precondition(k >= 1 && k <= n, "AttentiveFusion: keep \(k) of \(n) candidates")
        var a = [Float](repeating: 0, count: n)
        for h in 0..<heads {
            let row = att + h * t * t + prefix  // query 0 (CLS), keys prefix..<t
            for j in 0..<n { a[j] += row[j] }
        }
        let hs = Float(heads)
        for j in 0..<n { a[j] /= hs }
        let ranked = (0..<n).sorted { a[$0] != a[$1] ? a[$0] > a[$1] : $0 < $1 }
        return Plan(attention: a, kept: Array(ranked.prefix(k)), fused: ranked.dropFirst(k).sorted())
    }

    /// Gathers the kept tokens and appends the fused one.
    ///
    ///     x [t, D]  ->  out [prefix + k + 1, D]
    public static func apply(_ p: Plan, x: UnsafePointer<Float>, prefix: Int, dim d: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(from: x, count: prefix * d)
        for (i, j) in p.kept.enumerated() { (out + (prefix + i) * d).update(from: x + (prefix + j) * d, count: d) }
        let f = out + (prefix + p.kept.count) * d
        f.update(repeating: 0, count: d)
        for j in p.fused {
            let w = p.attention[j], src = x + (prefix + j) * d
            for e in 0..<d { f[e] += w * src[e] }
        }
    }

    /// For `TokenTracker.remap`: new index of every old token, and the old token each new one
    /// continues (-1 for the fused token).
    public static func mapping(_ p: Plan, prefix: Int) -> (newOf: [Int32], carry: [Int32]) {
        let k = p.kept.count, t = prefix + p.attention.count
        var newOf = [Int32](repeating: Int32(prefix + k), count: t)
        var carry = [Int32](repeating: -1, count: prefix + k + 1)
        for j in 0..<prefix { newOf[j] = Int32(j); carry[j] = Int32(j) }
        for (i, j) in p.kept.enumerated() { newOf[prefix + j] = Int32(prefix + i); carry[prefix + i] = Int32(prefix + j) }
        return (newOf, carry)
    }
}
