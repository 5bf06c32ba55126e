import Engine
import Foundation

/// Builds Prune and Merge blocks from accumulated scores, as the official code does
/// (pm-vit/tm_prune_merge_to_center.py, `tm_prune` and `get_merge_matrix`), with one fix offered.
///
/// 1. Per block: v = |r| / (||r||_2 + 1e-8), then v *= (1 - 0.025 i) for block index i.
/// 2. Pool the v of every compressed block. With P patches and L blocks, the lowest
///    int(P * prune) * L values are pruned: prune_thr = sorted(pool)[that count], mask = v >= prune_thr.
///    The highest int(P * keep) * L values become centers: keep_thr = sorted(pool)[count - n], and the
///    centers of a block are its patches with v * mask >= keep_thr. Token counts per block vary.
/// 3. Groups (`official`): in raster order, each center takes the tokens from where the previous
///    group stopped up to about halfway to the next center, clipped at the end of the center's row
///    (with the official off-by-one: the row test uses token indices, CLS counted); the first group
///    starts at patch 0 and the last runs to the end. Groups (`grid`, the default): the same halfway
///    split, but inside each grid row only; a row without a center has no group.
/// 4. Weights: member score / center score (center 1, pruned 0); rows are not normalised.
///    recover = pinv(merge) (rows have disjoint support: merge^T diag(1 / |row|^2)); bias = log sqrt(sum w).
///
/// Kept tokens that end up in no group (grid rows without a center, or a block with no center at all,
/// where the official code crashes) pass through the block unchanged, like pruned tokens.
/// Arithmetic is Float32 as in the official code (numpy/torch float32), so plans match it exactly.
public enum PMPlanner {
    public enum Grouping: String, Sendable, CaseIterable {
        case official, grid
    }

    public struct Options: Sendable {
        public var keep: Double
        public var prune: Double
        public var blocks: [Int]
        public var grouping: Grouping = .grid
        /// Hand-set center counts per block (`--keep-per-block`), replacing the global keep threshold.
        public var keepPerBlock: [Int]? = nil
        public init(keep: Double, prune: Double, blocks: [Int], grouping: Grouping = .grid) {
            self.keep = keep; self.prune = prune; self.blocks = blocks; self.grouping = grouping
        }
    }

    /// `ranks[i]` are block i's accumulated scores [numPatches] (all blocks of the model).
    public static func plan(ranks: [[Double]], config c: ViTConfig, options o: Options) throws -> [PMBlock] {
        let p = c.numPatches, g = c.grid, pre = c.prefixTokens
        guard o.keep > 0, o.keep < 1 else { throw EngineError("keep ratio \(o.keep) must be in (0, 1)") }
        guard o.prune >= 0, o.prune < 1 else { throw EngineError("prune rate \(o.prune) must be in [0, 1)") }
        guard o.keep + o.prune <= 1 else { throw EngineError("keep \(o.keep) + prune \(o.prune) is more than 1") }
        guard !o.blocks.isEmpty, Set(o.blocks).count == o.blocks.count, o.blocks.allSatisfy({ $0 >= 0 && $0 < c.depth }) else {
            throw EngineError("blocks \(o.blocks) must be distinct block indices in 0..<\(c.depth)")
        }
        guard ranks.count == c.depth, ranks.allSatisfy({ $0.count == p }) else {
            throw EngineError("ranks must hold \(c.depth) blocks of \(p) scores")
        }
        if let kp = o.keepPerBlock {
            guard kp.count == o.blocks.count, kp.allSatisfy({ $0 >= 0 && $0 <= p }) else {
                throw EngineError("--keep-per-block needs \(o.blocks.count) counts in 0...\(p), one per compressed block")
            }
        }
        // 1. Normalise and weight by depth, in Float32.
        var layer: [[Float]] = []
        for i in o.blocks {
            let r = ranks[i].map { abs(Float($0)) }
            var ss: Float = 0
            for v in r { ss += v * v }
            let n = ss.squareRoot() + 1e-8
            let w = Float(1 - 0.025 * Double(i))
            layer.append(r.map { ($0 / n) * w })
        }
        // 2. Global thresholds.
        let l = o.blocks.count
        let numPrune = Int(Double(p) * o.prune) * l
        let numKeep = Int(Double(p) * o.keep) * l
        let pool = layer.flatMap { $0 }.sorted()
        let pruneThr = pool[min(numPrune, pool.count - 1)]
        let keepThr = numKeep > 0 ? pool[pool.count - min(numKeep, pool.count)] : Float.infinity
        var out: [PMBlock] = []
        for (k, i) in o.blocks.enumerated() {
            let v = layer[k]
            let mask = v.map { $0 >= pruneThr }
            let score = zip(v, mask).map { $1 ? $0 : 0 }
            var centers: [Int]
            if let kp = o.keepPerBlock {
                // The kp[k] highest unpruned scores of this block, in raster order.
                centers = (0..<p).filter { mask[$0] }.sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
                centers = Array(centers.prefix(kp[k])).sorted()
            } else {
                centers = (0..<p).filter { score[$0] >= keepThr }
            }
            out.append(makeBlock(block: i, score: score, mask: mask, centers: centers, grid: g, prefix: pre, grouping: o.grouping))
        }
        return out
    }

    /// Groups and matrices for one block from its (masked) scores and centers.
    static func makeBlock(block: Int, score: [Float], mask: [Bool], centers: [Int], grid g: Int, prefix pre: Int,
                          grouping: Grouping) -> PMBlock {
        let p = score.count, n = p + pre
        // group[j] = index into centers, or -1.
        var group = [Int](repeating: -1, count: p)
        switch grouping {
        case .official:
            // Token coordinates t = patch + 1, as the official loop (prefix assumed 1 there).
            var left = 1
            for ci in centers.indices {
                var right: Int
                if ci + 1 < centers.count {
                    let c0 = centers[ci], c1 = centers[ci + 1]
                    right = Int((Double(c0 + c1) / 2).rounded(.up)) + 1
                    let line = (c0 + 1) / g, lineR = (right - 1) / g
                    if line < lineR { right = (line + 1) * g + 1 }
                } else {
                    right = p + 1
                }
                if left < right { for t in left..<right where t - 1 < p { group[t - 1] = ci } }
                left = max(left, right)
            }
        case .grid:
            for row in 0..<g {
                let inRow = centers.indices.filter { centers[$0] / g == row }
                for (k, ci) in inRow.enumerated() {
                    let x = centers[ci] % g
                    let start = k == 0 ? 0 : Int((Double(centers[inRow[k - 1]] % g + x) / 2).rounded(.up))
                    let end = k + 1 < inRow.count ? Int((Double(x + centers[inRow[k + 1]] % g) / 2).rounded(.up)) : g
                    for col in start..<end { group[row * g + col] = ci }
                }
            }
        }
        let channels = pre + centers.count
        var merge = [Float](repeating: 0, count: channels * n)
        var bias = [Float](repeating: 0, count: channels)
        var tokenMask = [Float](repeating: 1, count: n)
        var states = [PatchState](repeating: .pruned, count: p)
        for k in 0..<pre { merge[k * n + k] = 1; bias[k] = 1 }
        var rowSums = [Float](repeating: 0, count: channels)
        for k in 0..<pre { rowSums[k] = 1 }
        for j in 0..<p {
            guard mask[j] else { tokenMask[pre + j] = 0; states[j] = .pruned; continue }
            let gi = group[j]
            guard gi >= 0 else { tokenMask[pre + j] = 0; states[j] = .unassigned; continue }
            let center = centers[gi]
            let w = score[j] / (score[center] + 1e-8)
            merge[(pre + gi) * n + pre + j] = w
            rowSums[pre + gi] += w
            states[j] = j == center ? .center(group: gi) : .merged(group: gi, weight: w)
        }
        for r in pre..<channels { bias[r] = rowSums[r] }
        bias = bias.map { Float(Foundation.log(Double($0).squareRoot())) }
        return PMBlock(block: block, tokens: n, channels: channels, tokenMask: tokenMask, merge: merge,
                       recover: pseudoInverse(merge, rows: channels, cols: n), bias: bias,
                       layout: PMBlock.Layout(centers: centers, states: states))
    }

    /// pinv of a [rows, cols] matrix whose rows have disjoint supports: M^T diag(1 / |row|^2) (a zero
    /// row maps to a zero column). That is exactly the Moore-Penrose inverse for such matrices.
    static func pseudoInverse(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        var r = [Float](repeating: 0, count: cols * rows)
        for i in 0..<rows {
            var ss: Double = 0
            for j in 0..<cols { ss += Double(m[i * cols + j]) * Double(m[i * cols + j]) }
            guard ss > 0 else { continue }
            for j in 0..<cols where m[i * cols + j] != 0 { r[j * rows + i] = Float(Double(m[i * cols + j]) / ss) }
        }
        return r
    }
}
