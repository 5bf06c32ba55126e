import Engine
import Foundation

/// DiffRate's reduction of one image inside a block (`DiffRate/patch/deit.py`, eval branch, and
/// `DiffRate/merge.py`), on the attention residual x:
///
///     order   prefix (CLS, DIST) first, then the patch tokens by head-mean CLS attention,
///             highest first (ties: lower position)                  `AttentiveFusion.plan`'s ranking
///     prune   keep the first p of that order (prefix included); the rest are discarded
///     merge   destinations = order positions prefix..<m, sources = positions m..<p; each source
///             goes to the destination of highest cosine similarity on x (first on ties), and every
///             destination becomes the plain mean of itself and its sources
///     sizes   s_d <- s_d + sum over its sources of s_k * max(cos, 0)
///
///     x [t, D], size [t]  ->  out [m, D], newSize [m]      (m, p already min'd with t)
///
/// Two departures from the code, both where it would break: DIST (distilled models) is pinned with
/// CLS, and a source's cosine counts at least 0 in its destination's size (the code does not clamp
/// at inference, so a negative cosine could make the next block's log(size) undefined).
public enum PruneThenMerge {
    public struct Plan: Sendable, Equatable {
        /// Old token index of each output token: the prefix, then the destinations in order.
        public var carry: [Int32]
        /// [t] new index of each old token, -1 for a discarded one.
        public var newOf: [Int32]
        /// Old indices of the merged tokens, and the destination (new index) of each.
        public var sources: [Int32]
        public var destinationOf: [Int32]
        /// The source's cosine to its destination.
        public var similarity: [Float]
    }

    /// Plans one image: `att` [H, t, t] post-softmax, `x` [t, D].
    public static func plan(att: UnsafePointer<Float>, heads: Int, x: UnsafePointer<Float>, tokens t: Int, dim d: Int,
                            prefix: Int, pruneKept p: Int, mergeKept m: Int) -> Plan {
        precondition(prefix < m && m <= p && p <= t, "PruneThenMerge: prefix \(prefix), merge \(m), prune \(p), tokens \(t)")
        let order = AttentiveFusion.plan(att: att, heads: heads, tokens: t, prefix: prefix, keep: p - prefix).kept.map { $0 + prefix }
        let destinations = Array(order.prefix(m - prefix)), sources = Array(order.dropFirst(m - prefix))
        var newOf = [Int32](repeating: -1, count: t)
        for j in 0..<prefix { newOf[j] = Int32(j) }
        for (i, o) in destinations.enumerated() { newOf[o] = Int32(prefix + i) }
        var destinationOf: [Int32] = [], similarity: [Float] = []
        if !sources.isEmpty {
            let unit = { (j: Int) -> [Float] in
                let row = x + j * d
                var ss: Float = 0
                for e in 0..<d { ss += row[e] * row[e] }
                let inv = ss > 0 ? 1 / ss.squareRoot() : 0
                return (0..<d).map { row[$0] * inv }
            }
            let dst = destinations.map(unit)
            for s in sources {
                let v = unit(s)
                var best = -Float.infinity, at = 0
                for (i, w) in dst.enumerated() {
                    var dot: Float = 0
                    for e in 0..<d { dot += v[e] * w[e] }
                    if dot > best { best = dot; at = i }
                }
                destinationOf.append(Int32(prefix + at))
                similarity.append(best)
                newOf[s] = Int32(prefix + at)
            }
        }
        return Plan(carry: (0..<prefix).map(Int32.init) + destinations.map(Int32.init), newOf: newOf,
                    sources: sources.map(Int32.init), destinationOf: destinationOf, similarity: similarity)
    }

    /// The plan's output tokens and sizes.
    public static func apply(_ p: Plan, x: UnsafePointer<Float>, size: UnsafePointer<Float>, dim d: Int,
                             into out: UnsafeMutablePointer<Float>, newSize: UnsafeMutablePointer<Float>) {
        var members = [Float](repeating: 1, count: p.carry.count)
        for (n, o) in p.carry.enumerated() {
            (out + n * d).update(from: x + Int(o) * d, count: d)
            newSize[n] = size[Int(o)]
        }
        for (k, s) in p.sources.enumerated() {
            let n = Int(p.destinationOf[k]), src = x + Int(s) * d, dst = out + n * d
            for e in 0..<d { dst[e] += src[e] }
            members[n] += 1
            newSize[n] += size[Int(s)] * max(p.similarity[k], 0)
        }
        for n in members.indices where members[n] > 1 {
            let dst = out + n * d, inv = 1 / members[n]
            for e in 0..<d { dst[e] *= inv }
        }
    }
}
