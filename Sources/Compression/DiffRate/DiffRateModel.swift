import Engine

/// A dense ViT run with DiffRate's token reduction at inference (Chen et al., "DiffRate:
/// Differentiable Compression Rate for Efficient Vision Transformers", ICCV 2023; the eval branch of
/// OpenGVLab/DiffRate `DiffRate/patch/deit.py`): in every block, after the attention residual,
/// rank the patch tokens by CLS attention, prune to the schedule's first count, then merge the tail
/// of what is left into the most similar of the first tokens, down to its second count
/// (`PruneThenMerge`). Sizes (similarity-scaled) bias the next blocks' attention by + log(size).
/// Training-free here: the weights are the dense model's, the counts a published schedule or a file.
public final class DiffRateModel: @unchecked Sendable {
    public let dense: ViTModel
    /// The schedule as it runs on this model (one entry per block).
    public let schedule: TokenSchedule
    public let proportionalAttention: Bool
    /// Per block: tokens in the attention and after pruning and merging, in the MLP.
    public let tokenCounts: [TokenCount]

    public init(dense: ViTModel, schedule: TokenSchedule, proportionalAttention: Bool = true) throws {
        try schedule.check(for: dense.config, method: "DiffRate")
        self.dense = dense
        self.schedule = schedule
        self.proportionalAttention = proportionalAttention
        tokenCounts = schedule.counts(tokens: dense.config.tokens)
    }

    /// Block l's split of the tokens its attention ran on: kept by pruning (prefix included), then
    /// left after merging; the rest of those kept merge away.
    public func split(layer l: Int) -> (pruned: Int, merged: Int) {
        let t = tokenCounts[l].attention, p = min(t, schedule.pruneKept[l]), u = tokenCounts[l].mlp
        return (t - p, p - u)
    }

    /// Each block's attention at its input tokens, its MLP at the tokens left, and where it merges
    /// the cosine product of the merging tokens with the destinations (sources x destinations x D).
    public var blockFlops: [Double] {
        let c = dense.config
        return tokenCounts.indices.map { l in
            let n = tokenCounts[l], s = split(layer: l)
            let merge = s.merged > 0 ? 2 * Double(s.merged) * Double(n.mlp - c.prefixTokens) * Double(c.dim) : 0
            return c.attentionFlops(tokens: n.attention) + c.mlpFlops(tokens: n.mlp) + merge
        }
    }

    /// Buffers for passes of up to `batch` images.
    public func forward(batch: Int, recordLayouts: Bool = false) -> ReducedForward {
        ReducedForward(model: dense, reducer: DiffRateReducer(self, batch: batch), batch: batch, recordLayouts: recordLayouts)
    }
}
