import Engine

/// A dense ViT run with PiToMe (Tran et al., NeurIPS 2024; hchautran/PiToMe, `algo/pitome`, its
/// DeiT patch): in every block, between attention and MLP, merge floor(T - T ratio) of the T patch
/// tokens by `EnergyMatching`, the first ceil(L/2) blocks without protection and the rest
/// protecting the low-energy tokens, with margin m (1 - l/L) in block l of L. Sizes weight the
/// averages; as PiToMe's DeiT patch, they do not bias the attention. Training-free: the weights are
/// the dense model's.
public final class PiToMeModel: @unchecked Sendable {
    public let dense: ViTModel
    /// Fraction of its patch tokens a block keeps, in [0.5, 1].
    public let ratio: Double
    /// The first block's margin.
    public let margin: Double
    /// Whether the later blocks protect (off: every block matches as the first ones, for comparison).
    public let protecting: Bool
    /// Per block: tokens in the attention and, after the merge, in the MLP.
    public let tokenCounts: [TokenCount]

    public init(dense: ViTModel, ratio: Double = 0.9125, margin: Double = 0.75, protecting: Bool = true) throws {
        guard ratio.isFinite, ratio >= 0.5, ratio <= 1 else { throw EngineError("PiToMe: ratio must be in [0.5, 1], got \(ratio)") }
        guard margin.isFinite, margin > -1, margin < 1 else { throw EngineError("PiToMe: margin must be in (-1, 1) (it is compared with cosines), got \(margin)") }
        let c = dense.config
        self.dense = dense
        self.ratio = ratio
        self.margin = margin
        self.protecting = protecting
        tokenCounts = Self.counts(c, ratio: ratio)
    }

    /// Per block: tokens in and out at `ratio`.
    public static func counts(_ c: ViTConfig, ratio: Double) -> [TokenCount] {
        var t = c.tokens
        return (0..<c.depth).map { _ in
            let u = t - merged(patchTokens: t - c.prefixTokens, ratio: ratio)
            defer { t = u }
            return TokenCount(attention: t, mlp: u)
        }
    }

    /// PiToMe's r: int(T - T ratio), in Double as Python computes it.
    public static func merged(patchTokens n: Int, ratio: Double) -> Int {
        max(0, Int((Double(n) - Double(n) * ratio).rounded(.down)))
    }

    /// Whether block l protects low-energy tokens (its later half).
    public func protects(layer l: Int) -> Bool {
        protecting && l >= (dense.config.depth + 1) / 2
    }

    /// Block l's margin: m (1 - l / L).
    public func margin(layer l: Int) -> Double {
        margin - margin * Double(l) / Double(dense.config.depth)
    }

    /// Each block's attention at its input tokens, its MLP at the tokens left, and where it merges
    /// the similarity product of its patch tokens (T x T x head dim).
    public var blockFlops: [Double] {
        let c = dense.config
        return tokenCounts.map { n in
            let patches = Double(n.attention - c.prefixTokens)
            return c.attentionFlops(tokens: n.attention) + c.mlpFlops(tokens: n.mlp) +
                (n.mlp < n.attention ? 2 * patches * patches * Double(c.headDim) : 0)
        }
    }

    /// Buffers for passes of up to `batch` images.
    public func forward(batch: Int, recordLayouts: Bool = false) -> ReducedForward {
        ReducedForward(model: dense, reducer: PiToMeReducer(self, batch: batch), batch: batch, recordLayouts: recordLayouts)
    }
}
