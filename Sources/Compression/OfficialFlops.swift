import Engine

/// The official Prune and Merge code's FLOPs formula (pm-vit/tmvit.py `flops()`), the one figure
/// every method reports beside the honest count, so rows of a table compare like with like.
///
/// Multiply-accumulates (not x 2), as the official code counts them. Per block, with c tokens,
/// width C, attention width D = H * hd:
///
///     attention(c) = 3cDC (qkv) + cDc (q k^T) + Hcc (softmax) + cDc (A v) + cDC (proj)
///     mlp(c)       = 2 c C M
///
/// plus the classifier counted as numPatches * classes * C (the official code multiplies by the
/// patch count; kept as it is). No patch embedding, no LayerNorm/GELU, no method overhead (merge,
/// recover, matching, fusion). Methods that change the token count inside a block (ToMe, EViT) put
/// the attention at the tokens it ran on and the MLP at the tokens left after the reduction.
public enum OfficialFlops {
    /// One block's MACs: attention on `attentionTokens`, MLP on `mlpTokens`.
    public static func block(_ c: ViTConfig, attentionTokens: Int, mlpTokens: Int) -> Double {
        let cd = Double(c.dim), inner = Double(c.innerDim), h = Double(c.heads), m = Double(c.mlpDim)
        let t = Double(attentionTokens), u = Double(mlpTokens)
        return 3 * t * inner * cd + t * inner * t + h * t * t + t * inner * t + t * inner * cd + u * cd * m + u * m * cd
    }

    /// The classifier term as the official code counts it.
    public static func classifier(_ c: ViTConfig) -> Double {
        Double(c.numPatches) * Double(c.numClasses) * Double(c.dim)
    }

    /// A whole model: classifier plus every block at its (attention, MLP) token counts.
    public static func model(_ c: ViTConfig, tokens: [TokenCount]) -> Double {
        tokens.reduce(classifier(c)) { $0 + block(c, attentionTokens: $1.attention, mlpTokens: $1.mlp) }
    }
}

/// Tokens per image one block works on: its attention half and its MLP half (equal unless the
/// method reduces tokens between them). CLS (and DIST) included.
public struct TokenCount: Sendable, Equatable, Hashable {
    public var attention: Int
    public var mlp: Int
    public init(attention: Int, mlp: Int) { self.attention = attention; self.mlp = mlp }
}
