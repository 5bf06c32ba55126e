import Engine

/// One compressed block of a Prune and Merge model, in the official checkpoint's terms.
///
///     N = prefix + patches tokens in, C = prefix + groups tokens run through the block
///     tokenMask [N]     1 for tokens that are merged (kept), 0 for tokens that skip the block
///     merge     [C, N]  row 0 (and 1 for DIST) is the identity on the prefix tokens; row g+prefix
///                       holds group g's weights (center 1, members score/center score, others 0)
///     recover   [N, C]  pinv(merge) when planned; trainable, so any dense matrix after fine-tuning
///     bias      [C]     log(sqrt(sum of the row's weights)); stored by the official code, never used
///
/// Forward (`PMRecovery.official`): x_res = x * (1 - mask);  y = block(merge @ x);  out = recover @ y + x_res.
/// Forward (`PMRecovery.update`):   m = merge @ x;  out = x + recover @ (block(m) - m).
public struct PMBlock: Sendable, Equatable {
    public var block: Int
    public var tokens: Int
    public var channels: Int
    public var tokenMask: [Float]
    public var merge: [Float]
    public var recover: [Float]
    public var bias: [Float]
    /// What the plan decided, per patch (for the explorer and exports); nil when loaded from a
    /// checkpoint whose matrices were fine-tuned, where groups are no longer exact.
    public var layout: Layout?

    public struct Layout: Sendable, Equatable {
        /// Patch index of each group's center, in group order.
        public var centers: [Int]
        /// Per patch.
        public var states: [PatchState]
    }
}
