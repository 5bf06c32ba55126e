import Engine
import Foundation

/// PiToMe's merge plan for one image (Tran et al., "Accelerating Transformers with Spectrum-
/// Preserving Token Merging", NeurIPS 2024; hchautran/PiToMe `algo/pitome/merge.py`, the DeiT
/// path), on the same metric as ToMe's (`BipartiteMatching.metric`: keys averaged over heads,
/// L2-normalised), the prefix (CLS, DIST) left out:
///
///     S [T, T]   cosine similarity of the T patch tokens
///     energy     E_i = (1/T) sum_j ELU(S_ij - margin)       (ELU alpha 1; j = i included)
///     order      tokens by energy, highest first (ties: lower position)
///
/// High energy means many close neighbours: redundant, merged first. Two ways to merge r tokens:
/// - `protecting` (PiToMe's later blocks): only the 2r highest-energy tokens take part, split
///   alternately along the order into A and B; every A merges into its most similar B. The T - 2r
///   others, the isolated and informative ones, are protected.
/// - not `protecting` (its first blocks): every token takes part, A and B alternate along the
///   order, and as in ToMe the r A tokens with the best match merge.
///
///     output [prefix, (protected | unmerged A), B]; a token's value is the size-weighted mean
///     of what met in it (`BipartiteMatching.mergeWeighted`)
public enum EnergyMatching {
    /// ELU(z) with alpha 1.
    @inline(__always) static func elu(_ z: Float) -> Float { z > 0 ? z : expm1(z) }

    /// Energies of the T = t - prefix patch tokens. `similarity` is scratch of T x T floats; it
    /// holds S afterwards.
    public static func energy(metric: UnsafePointer<Float>, tokens t: Int, prefix: Int, dim hd: Int, margin: Float,
                              similarity s: UnsafeMutablePointer<Float>) -> [Float] {
        let n = t - prefix, m = metric + prefix * hd
        BLAS.sgemm(transB: true, m: n, n: n, k: hd, a: m, lda: hd, b: m, ldb: hd, beta: 0, c: s, ldc: n)
        return (0..<n).map { i in
            let row = s + i * n
            var e: Float = 0
            for j in 0..<n { e += elu(row[j] - margin) }
            return e / Float(n)
        }
    }

    /// The plan merging r of the patch tokens (1 <= r, 2r <= T when protecting, r <= ceil(T/2)
    /// otherwise), given their energies and S from `energy`.
    public static func plan(energy: [Float], similarity s: UnsafePointer<Float>, tokens t: Int, prefix: Int, r: Int,
                            protecting: Bool) -> BipartiteMatching.Plan {
        let n = t - prefix
        precondition(r >= 1 && (protecting ? 2 * r <= n : r <= (n + 1) / 2), "EnergyMatching: r \(r) of \(n) tokens")
        let order = (0..<n).sorted { energy[$0] != energy[$1] ? energy[$0] > energy[$1] : $0 < $1 }
        let taking = protecting ? Array(order.prefix(2 * r)) : order
        let a = stride(from: 0, to: taking.count, by: 2).map { taking[$0] }
        let b = stride(from: 1, to: taking.count, by: 2).map { taking[$0] }
        // Each A token's most similar B (first in B's order on ties).
        var best = [Float](repeating: -.infinity, count: a.count), match = [Int](repeating: 0, count: a.count)
        for (i, x) in a.enumerated() {
            let row = s + x * n
            for (j, y) in b.enumerated() where row[y] > best[i] { best[i] = row[y]; match[i] = j }
        }
        let sourceIdx: [Int], kept: [Int]
        if protecting {
            sourceIdx = Array(a.indices)
            kept = Array(order.dropFirst(2 * r))
        } else {
            let ranked = a.indices.sorted { best[$0] != best[$1] ? best[$0] > best[$1] : $0 < $1 }
            sourceIdx = Array(ranked.prefix(r))
            kept = ranked.dropFirst(r).map { a[$0] }
        }
        // New order: prefix, the tokens that stay on their own, then B.
        var newOf = [Int32](repeating: 0, count: t), carry: [Int32] = []
        for j in 0..<prefix { newOf[j] = Int32(j); carry.append(Int32(j)) }
        for x in kept + b { newOf[prefix + x] = Int32(carry.count); carry.append(Int32(prefix + x)) }
        for i in sourceIdx { newOf[prefix + a[i]] = newOf[prefix + b[match[i]]] }
        return BipartiteMatching.Plan(tokens: carry.count, newOf: newOf, carry: carry, sources: sourceIdx.map { Int32(prefix + a[$0]) })
    }
}
