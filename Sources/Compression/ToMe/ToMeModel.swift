import Engine

/// A dense ViT run with ToMe (Bolya et al., "Token Merging: Your ViT But Faster", ICLR 2023;
/// facebookresearch/ToMe `tome/patch/timm.py`): in every block, between attention and MLP, r
/// tokens merge into their most similar partner (`BipartiteMatching`). Training-free: the weights
/// are the dense model's.
///
/// r is per block, as ToMe's `parse_r` takes an int, a list (one shorter than the depth is padded
/// with 0) or (r, inflect) for a linear schedule. Each block merges min(r, (t - protected) / 2) tokens, protected = CLS (+ DIST).
public final class ToMeModel: @unchecked Sendable {
    public let dense: ViTModel
    /// Requested r per block (length = depth).
    public let r: [Int]
    /// Proportional attention: + log(size) on the attention logits (ToMe's timm default).
    public let proportionalAttention: Bool
    /// Per block: tokens in the attention and, after the merge, in the MLP.
    public let tokenCounts: [TokenCount]

    /// r per block; a list shorter than the depth is padded with 0.
    public init(dense: ViTModel, r: [Int], proportionalAttention: Bool = true) throws {
        let c = dense.config
        if let bad = r.first(where: { $0 < 0 }) { throw EngineError("ToMe: r must be at least 0, got \(bad)") }
        guard r.count <= c.depth else { throw EngineError("ToMe: \(r.count) values of r for a model with \(c.depth) blocks") }
        self.dense = dense
        self.r = r + [Int](repeating: 0, count: c.depth - r.count)
        self.proportionalAttention = proportionalAttention
        tokenCounts = Self.counts(self.r, c)
    }

    /// The same r in every block.
    public convenience init(dense: ViTModel, r: Int, proportionalAttention: Bool = true) throws {
        try self.init(dense: dense, r: [Int](repeating: r, count: dense.config.depth), proportionalAttention: proportionalAttention)
    }

    /// r as ToMe's `parse_r` takes it: an int for every block, a list per block, or a tuple
    /// (r, inflect) for a linear schedule.
    public enum Schedule: Sendable, Equatable {
        case constant(Int)
        case perBlock([Int])
        /// Linear from int(r (1 - inflect)) in the first block to 2r minus that in the last, each value
        /// truncated: the mean stays about r. inflect -1 falls from 2r to 0 (merge early, when the
        /// tokens are many), +1 rises from 0 to 2r, 0 is constant. Values in [-1, 1].
        case inflected(r: Int, inflect: Double)
        /// The tokens each block leaves, from a schedule file (`TokenSchedule`): r is what a block
        /// must merge to get there (after the cap at half its tokens, the next blocks follow what
        /// was reached).
        case tokens(TokenSchedule)

        /// r for each of `depth` blocks, with `parse_r`'s arithmetic (Python floats, int() truncation).
        public func values(depth: Int) throws -> [Int] {
            switch self {
            case .tokens:
                throw EngineError("ToMe: a token schedule needs the model's token count: use values(config:)")
            case .constant(let r): return [Int](repeating: r, count: depth)
            case .perBlock(let r): return r
            case .inflected(let r, let inflect):
                guard inflect.isFinite, (-1...1).contains(inflect) else {
                    throw EngineError("ToMe: inflect must be in [-1, 1], got \(inflect)")
                }
                guard r >= 0 else { throw EngineError("ToMe: r must be at least 0, got \(r)") }
                let low = Int(Double(r) * (1.0 - inflect)), high = 2 * r - low
                // parse_r divides by depth - 1; one block gets r itself.
                guard depth > 1 else { return [r] }
                let step = Double(high - low) / Double(depth - 1)
                return (0..<depth).map { Int(Double(low) + step * Double($0)) }
            }
        }
    }

    public convenience init(dense: ViTModel, schedule: Schedule, proportionalAttention: Bool = true) throws {
        let c = dense.config
        guard case .tokens(let s) = schedule else {
            try self.init(dense: dense, r: try schedule.values(depth: c.depth), proportionalAttention: proportionalAttention)
            return
        }
        try s.check(for: c, method: "ToMe")
        var t = c.tokens
        let r = s.counts(tokens: c.tokens).map { n -> Int in
            let want = max(0, t - n.mlp)
            defer { t -= min(want, (t - c.prefixTokens) / 2) }
            return want
        }
        try self.init(dense: dense, r: r, proportionalAttention: proportionalAttention)
    }

    static func counts(_ r: [Int], _ c: ViTConfig) -> [TokenCount] {
        var t = c.tokens
        return r.map { want in
            let u = t - min(want, (t - c.prefixTokens) / 2)
            defer { t = u }
            return TokenCount(attention: t, mlp: u)
        }
    }

    /// Tokens merged away in each block (r after the cap).
    public var merged: [Int] { tokenCounts.map { $0.attention - $0.mlp } }

    /// Honest FLOPs per image (multiply-adds x 2): patch embedding and head once, each block's
    /// attention half at its input tokens and its MLP at the tokens left, plus the matching's
    /// similarity product A B^T (ceil(t/2) x floor(t/2) x head dim) where a block merges. The key
    /// average, the norms and the weighted average are elementwise and not counted, like LayerNorm.
    public var flopsPerImage: Double {
        let c = dense.config
        return tokenCounts.reduce(c.embedAndHeadFlops) { total, n in
            total + c.attentionFlops(tokens: n.attention) + c.mlpFlops(tokens: n.mlp) +
                (n.mlp < n.attention ? Self.similarityFlops(tokens: n.attention, headDim: c.headDim) : 0)
        }
    }

    /// A B^T of the matching on t tokens, x 2.
    public static func similarityFlops(tokens t: Int, headDim: Int) -> Double {
        2 * Double((t + 1) / 2) * Double(t / 2) * Double(headDim)
    }

    /// The official Prune and Merge formula (`OfficialFlops`) at ToMe's token counts, MACs.
    public var officialFlops: Double { OfficialFlops.model(dense.config, tokens: tokenCounts) }

    /// Buffers for passes of up to `batch` images.
    public func forward(batch: Int, recordLayouts: Bool = false) -> ReducedForward {
        ReducedForward(model: dense, reducer: ToMeReducer(self, batch: batch), batch: batch, recordLayouts: recordLayouts)
    }
}

extension ToMeModel: FineTunableModel {
    public func trainingNetwork(batch: Int, workers: Int) -> TrainableNetwork {
        ReducedNetwork(model: dense, reducer: ToMeReducer(self, batch: batch, forBackward: true), batch: batch, workers: workers)
    }
}
