/// Where every original patch of one image is after one block of a per-image token reduction
/// method (ToMe, EViT, PiToMe, DiffRate): which token of the block's output holds it, and what that token is.
///
/// The layout of block l describes the tokens after block l's reduction: the tokens its MLP ran
/// on and the next block receives. Token indices are positions in that output sequence (CLS at 0,
/// DIST at 1 for distilled models), which the methods reorder at every reduction.
public struct TokenLayout: Sendable, Equatable {
    /// Tokens the block's attention ran on (prefix included).
    public var tokensIn: Int
    /// Tokens after the block's reduction (prefix included).
    public var tokensOut: Int
    /// [numPatches] index of the output token holding each patch, -1 for a discarded patch.
    public var holder: [Int]
    /// [tokensOut] original patches each token holds (0 for CLS/DIST).
    public var patchCount: [Int]
    /// [tokensOut] each token's representative patch: ToMe, the patch of the lineage the others
    /// merged into; EViT, a kept token's own patch; -1 for CLS/DIST and for EViT's fused token.
    public var anchor: [Int]
    /// [tokensOut] EViT: the token descends from a fused token (it holds dropped patches).
    public var fused: [Bool]

    public init(tokensIn: Int, tokensOut: Int, holder: [Int], patchCount: [Int], anchor: [Int], fused: [Bool]) {
        self.tokensIn = tokensIn; self.tokensOut = tokensOut; self.holder = holder
        self.patchCount = patchCount; self.anchor = anchor; self.fused = fused
    }

    /// Per patch, in the explorer's common language:
    /// - held by no token (DiffRate pruned it): `.discarded`;
    /// - held by a fused token (EViT): `.dropped`;
    /// - alone in its token: `.kept`;
    /// - sharing a token: `.center` for the token's anchor, `.merged(weight: 1 / patches)` for the
    ///   others (ToMe's size-weighted average gives every patch of a token the same share).
    /// Group ids are 0-based, in raster order of the center patch.
    public var states: [PatchState] {
        var groupOfToken = [Int](repeating: -1, count: tokensOut)
        let groupTokens = (0..<tokensOut).filter { !fused[$0] && patchCount[$0] > 1 && anchor[$0] >= 0 }
            .sorted { anchor[$0] < anchor[$1] }
        for (g, t) in groupTokens.enumerated() { groupOfToken[t] = g }
        return holder.enumerated().map { p, t in
            if t < 0 { return .discarded }
            if fused[t] { return .dropped }
            let g = groupOfToken[t]
            if g < 0 { return .kept }
            return anchor[t] == p ? .center(group: g) : .merged(group: g, weight: 1 / Float(patchCount[t]))
        }
    }

    /// The patches each token holds ([tokensOut], each in raster order): ToMe's `source` matrix
    /// as lists.
    public var members: [[Int]] {
        var m = [[Int]](repeating: [], count: tokensOut)
        for (p, t) in holder.enumerated() where t >= 0 { m[t].append(p) }
        return m
    }
}
