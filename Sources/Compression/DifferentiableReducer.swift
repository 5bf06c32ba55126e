import Engine

/// A token reducer the backward pass can go through, so `ReducedNetwork` can fine-tune a dense
/// model under it. As in ToMe's and EViT's own training, the choice (which tokens merge, which are
/// kept) is not differentiated: the gradient flows through the values that are averaged, gathered
/// or fused and, for EViT, through the attention weights that scale the fused token.
///
/// A reducer made `forBackward` keeps, for every block of the last pass, what its backward needs
/// (ToMe: where each token went and the sizes it had; EViT: the kept and fused tokens and their
/// weights).
public protocol DifferentiableReducer: TokenReducer {
    /// d reduced [B, u, D] -> d res1 [B, t, D] for block l of the last pass (written, not added).
    /// When the step read the attention probabilities, their gradient on every head's CLS row,
    /// already divided over the heads, goes into `clsAttention` [B, t] and the call returns true.
    func reduceBackward(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, dout: UnsafePointer<Float>,
                        into dx: UnsafeMutablePointer<Float>, clsAttention: UnsafeMutablePointer<Float>,
                        batch b: Int, workers: Int) -> Bool
}

/// Token indices per block and image ([depth][B, T] Int32), what a reducer remembers of its choices
/// for the backward pass.
final class TokenIndexStore: @unchecked Sendable {
    let base: UnsafeMutablePointer<Int32>
    let perLayer: Int

    init(depth: Int, batch: Int, tokens: Int) {
        perLayer = batch * tokens
        base = .allocate(capacity: max(1, depth * perLayer))
        base.initialize(repeating: 0, count: max(1, depth * perLayer))
    }

    deinit { base.deallocate() }

    /// Block l's row for image i (T entries, the first t used).
    func row(layer l: Int, image i: Int, tokens: Int) -> UnsafeMutablePointer<Int32> { base + l * perLayer + i * tokens }
}
