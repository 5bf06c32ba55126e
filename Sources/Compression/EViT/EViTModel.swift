import Engine
import Foundation

/// A dense ViT run with EViT's token reorganisation (Liang et al., "Not All Patches are What You
/// Need", ICLR 2022; youweiliang/evit `evit.py` with `--fuse_token`): in the blocks `blocks`, after
/// the attention residual, keep the ceil(keepRate * n) candidates CLS attends to most and fuse the
/// rest into one token (`AttentiveFusion`); the MLP and later blocks run on the reduced set, and
/// the fused token is an ordinary token from then on. Run here training-free on the dense weights
/// (the authors fine-tune or train with a keep-rate schedule; their code is the same at inference).
public final class EViTModel: @unchecked Sendable {
    public let dense: ViTModel
    /// Fraction of the candidates kept in each reducing block, in (0, 1].
    public let keepRate: Double
    /// Reducing blocks, ascending (0-based).
    public let blocks: [Int]
    /// The tokens each block leaves when a schedule file set them (`--schedule`), else nil.
    public let schedule: TokenSchedule?
    /// Per block: tokens in the attention and after the reorganisation, in the MLP.
    public let tokenCounts: [TokenCount]
    /// Per block: whether it reorganises (a block whose keep count is all candidates does not, as
    /// in the code's `left_tokens == N - 1` early return).
    public let reducing: [Bool]

    /// EViT's `drop_loc` (3, 6, 9) for 12 blocks; for other depths the same quarters,
    /// depth/4, depth/2 and 3*depth/4 (rounded down, duplicates dropped).
    public static func defaultBlocks(depth: Int) -> [Int] {
        Array(Set([depth / 4, depth / 2, 3 * depth / 4])).filter { $0 < depth }.sorted()
    }

    public convenience init(dense: ViTModel, keepRate: Double = 0.7, blocks: [Int]? = nil) throws {
        let c = dense.config
        guard keepRate.isFinite, keepRate > 0, keepRate <= 1 else { throw EngineError("EViT: keep rate must be in (0, 1], got \(keepRate)") }
        let blocks = blocks ?? Self.defaultBlocks(depth: c.depth)
        if let bad = blocks.first(where: { $0 < 0 || $0 >= c.depth }) {
            throw EngineError("EViT: block \(bad) is out of range for a model with \(c.depth) blocks (0..\(c.depth - 1))")
        }
        guard Set(blocks).count == blocks.count else { throw EngineError("EViT: a block is listed twice in \(blocks)") }
        try self.init(dense: dense, keepRate: keepRate, blocks: blocks, schedule: nil)
    }

    /// EViT keeping, in every block, what `schedule` says the block leaves: k candidates and the
    /// fused token, k = tokens - prefix - 1 (a block whose count is not below its input keeps all).
    public convenience init(dense: ViTModel, schedule: TokenSchedule) throws {
        let c = dense.config
        try schedule.check(for: c, method: "EViT")
        if let bad = schedule.counts(tokens: c.tokens).first(where: { $0.mlp < $0.attention && $0.mlp < c.prefixTokens + 2 }) {
            throw EngineError("EViT: a block cannot leave \(bad.mlp) tokens; it keeps CLS, at least one patch token and the fused one (\(c.prefixTokens + 2))")
        }
        try self.init(dense: dense, keepRate: 1, blocks: Array(0..<c.depth), schedule: schedule)
    }

    private init(dense: ViTModel, keepRate: Double, blocks: [Int], schedule: TokenSchedule?) throws {
        let c = dense.config
        self.dense = dense
        self.keepRate = keepRate
        self.blocks = blocks.sorted()
        self.schedule = schedule
        let target = schedule?.counts(tokens: c.tokens)
        var t = c.tokens
        var counts: [TokenCount] = [], reducing: [Bool] = []
        for l in 0..<c.depth {
            let k = target.map { $0[l].mlp < t ? $0[l].mlp - c.prefixTokens - 1 : t - c.prefixTokens }
                ?? Self.keep(rate: keepRate, candidates: t - c.prefixTokens)
            let reduces = blocks.contains(l) && k < t - c.prefixTokens
            let u = reduces ? c.prefixTokens + k + 1 : t
            counts.append(TokenCount(attention: t, mlp: u))
            reducing.append(reduces)
            t = u
        }
        tokenCounts = counts
        self.reducing = reducing
    }

    /// ceil(keep_rate * n), in Double as Python's math.ceil computes it.
    public static func keep(rate: Double, candidates n: Int) -> Int {
        Int((rate * Double(n)).rounded(.up))
    }

    /// Honest FLOPs per image (multiply-adds x 2): patch embedding and head once, each block's
    /// attention half at its input tokens and its MLP at the tokens left, plus the fused token's
    /// weighted sum (fused candidates x D). The head-mean of CLS's attention and the top-k are
    /// elementwise and not counted, like LayerNorm.
    public var flopsPerImage: Double {
        let c = dense.config
        var total = c.embedAndHeadFlops
        for (l, n) in tokenCounts.enumerated() {
            total += c.attentionFlops(tokens: n.attention) + c.mlpFlops(tokens: n.mlp)
            if reducing[l] {
                let fused = n.attention - c.prefixTokens - (n.mlp - c.prefixTokens - 1)
                total += 2 * Double(fused) * Double(c.dim)
            }
        }
        return total
    }

    /// The official Prune and Merge formula (`OfficialFlops`) at EViT's token counts, MACs.
    public var officialFlops: Double { OfficialFlops.model(dense.config, tokens: tokenCounts) }

    /// Buffers for passes of up to `batch` images.
    public func forward(batch: Int, recordLayouts: Bool = false) -> ReducedForward {
        ReducedForward(model: dense, reducer: EViTReducer(self), batch: batch, recordLayouts: recordLayouts)
    }
}

extension EViTModel: FineTunableModel {
    public func trainingNetwork(batch: Int, workers: Int) -> TrainableNetwork {
        ReducedNetwork(model: dense, reducer: EViTReducer(self, batch: batch, forBackward: true), batch: batch, workers: workers)
    }
}
