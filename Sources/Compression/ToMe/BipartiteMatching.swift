import Engine

/// ToMe's bipartite soft matching and size-weighted merge for one image, as `tome/merge.py`
/// (`bipartite_soft_matching`, `merge_wavg`) computes them.
///
///     metric  [t, k]   the block's keys averaged over heads, L2-normalised per token
///     A = tokens 0, 2, 4, ... (CLS is A's first), B = tokens 1, 3, 5, ... (DIST is B's first)
///     scores  [ceil(t/2), floor(t/2)] = A B^T (cosine similarity); CLS's row and DIST's column
///             are -inf, so neither ever merges or is merged into
///     each a: best b (first on ties); the r a with the highest best score are the sources
///     output  [unmerged A in position order, all of B]   (distilled: [CLS, DIST, rest of A, rest of B])
///     x'      = sum(x * s) / sum(s) over the tokens that meet, s' = sum(s)   (a destination included)
///
/// Ties in the ranking go to the lower position (PyTorch's argsort does not promise an order).
public enum BipartiteMatching {
    /// Where the tokens of one image go.
    public struct Plan: Sendable, Equatable {
        /// Tokens after the merge (t - r).
        public var tokens: Int
        /// [t] new index of each old token.
        public var newOf: [Int32]
        /// [tokens] the old token each new one continues: an unmerged A token or a B token.
        public var carry: [Int32]
        /// [r] the merged (source) tokens, old indices, in ranking order (best match first).
        public var sources: [Int32]
    }

    /// The matching metric of one image: k[t, hd] averaged over heads, then divided by its L2
    /// norm (a zero key stays zero instead of becoming NaN, where PyTorch would divide by 0).
    ///
    ///     qkv [t, 3I]  (keys at column I + h*hd + e)  ->  metric [t, hd]
    public static func metric(qkv: UnsafePointer<Float>, tokens t: Int, heads: Int, headDim hd: Int,
                              into out: UnsafeMutablePointer<Float>) {
        let inner = heads * hd
        let hs = Float(heads)
        for j in 0..<t {
            let k = qkv + j * 3 * inner + inner, o = out + j * hd
            for e in 0..<hd { o[e] = k[e] }
            for h in 1..<max(heads, 1) { for e in 0..<hd { o[e] += k[h * hd + e] } }
            var ss: Float = 0
            for e in 0..<hd { o[e] /= hs; ss += o[e] * o[e] }
            let norm = ss.squareRoot()
            if norm > 0 { for e in 0..<hd { o[e] /= norm } }
        }
    }

    /// Plans the merge of `r` tokens (already capped at (t - protected) / 2 by the caller) from the
    /// normalised metric. `scores` is scratch of at least ceil(t/2) * floor(t/2) floats.
    public static func plan(metric: UnsafePointer<Float>, tokens t: Int, dim hd: Int, r: Int, distilled: Bool,
                            scores: UnsafeMutablePointer<Float>) -> Plan {
        let ta = (t + 1) / 2, tb = t / 2
        precondition(r >= 1 && r <= (t - (distilled ? 2 : 1)) / 2, "BipartiteMatching: r \(r) out of range for \(t) tokens")
        // scores[a, b] = metric[2a] . metric[2b + 1]: every other row, so lda = ldb = 2 hd.
        BLAS.sgemm(transB: true, m: ta, n: tb, k: hd, a: metric, lda: 2 * hd, b: metric + hd, ldb: 2 * hd,
                   beta: 0, c: scores, ldc: tb)
        var best = [Float](repeating: -.infinity, count: ta)
        var match = [Int](repeating: 0, count: ta)
        let firstB = distilled ? 1 : 0
        for a in 1..<ta {  // a = 0 is CLS: its row is -inf
            let row = scores + a * tb
            var m = -Float.infinity, at = 0
            for b in firstB..<tb where row[b] > m { m = row[b]; at = b }
            best[a] = m
            match[a] = at
        }
        let ranked = (0..<ta).sorted { best[$0] != best[$1] ? best[$0] > best[$1] : $0 < $1 }
        let src = Array(ranked.prefix(r))
        let unm = ranked.dropFirst(r).sorted()
        let nUnm = unm.count, u = t - r
        var newOf = [Int32](repeating: 0, count: t)
        var carry = [Int32](repeating: 0, count: u)
        func place(old: Int, new: Int) { newOf[old] = Int32(new); carry[new] = Int32(old) }
        if distilled {
            place(old: 2 * unm[0], new: 0)
            place(old: 1, new: 1)
            for i in 1..<nUnm { place(old: 2 * unm[i], new: 1 + i) }
            for b in 1..<tb { place(old: 2 * b + 1, new: nUnm + b) }
        } else {
            for i in 0..<nUnm { place(old: 2 * unm[i], new: i) }
            for b in 0..<tb { place(old: 2 * b + 1, new: nUnm + b) }
        }
        for a in src { newOf[2 * a] = newOf[2 * match[a] + 1] }
        return Plan(tokens: u, newOf: newOf, carry: carry, sources: src.map { Int32(2 * $0) })
    }

    /// `merge_wavg`: out[n] = sum over the old tokens going to n of x * s, divided by their summed s.
    /// Each new token starts from the token it continues, then the sources add in ranking order.
    ///
    ///     x [t, D], size [t]  ->  out [t - r, D], newSize [t - r]
    public static func mergeWeighted(_ p: Plan, x: UnsafePointer<Float>, size: UnsafePointer<Float>, dim d: Int,
                                     into out: UnsafeMutablePointer<Float>, newSize: UnsafeMutablePointer<Float>) {
        for n in 0..<p.tokens {
            let o = Int(p.carry[n]), s = size[o]
            let src = x + o * d, dst = out + n * d
            for e in 0..<d { dst[e] = src[e] * s }
            newSize[n] = s
        }
        for so in p.sources {
            let o = Int(so), n = Int(p.newOf[o]), s = size[o]
            let src = x + o * d, dst = out + n * d
            for e in 0..<d { dst[e] += src[e] * s }
            newSize[n] += s
        }
        for n in 0..<p.tokens {
            let s = newSize[n], dst = out + n * d
            for e in 0..<d { dst[e] /= s }
        }
    }
}
