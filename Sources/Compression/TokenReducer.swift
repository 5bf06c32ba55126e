import Engine

/// A per-image token reduction method that acts inside a block, between its attention and its MLP
/// (ToMe merges there, EViT keeps the attentive tokens and fuses the rest). `ReducedForward` runs
/// the blocks and asks the reducer for the part that differs.
///
/// Token counts are static (the same for every image of every batch: ToMe merges a fixed r per
/// block, EViT keeps a fixed fraction), so a batch stays rectangular; which tokens go where is
/// decided per image.
public protocol TokenReducer: AnyObject {
    /// Per block: the tokens its attention runs on and the tokens left for its MLP.
    var tokenCounts: [TokenCount] { get }
    /// Whether block l reduces (EViT can fuse one token into one: the count stays, the tokens change).
    func reduces(layer l: Int) -> Bool
    /// Called before block 0 of every pass.
    func reset(batch b: Int)
    /// The additive attention bias for block l ([b, tokens] per key), or nil for plain attention.
    func keyBias(layer l: Int) -> UnsafePointer<Float>?
    /// Block l's reduction, for blocks where `reduces(layer:)`: reads
    /// `a.res1` (and `a.qkv`, `a.att`) at `from` tokens per image, writes `into` [b, to, D], and
    /// tells `tracker` where every old token went.
    func reduce(layer l: Int, from t: Int, to u: Int, acts a: Activations.Layer, into out: UnsafeMutablePointer<Float>,
                tracker: TokenTracker, batch b: Int, workers: Int)
}

extension TokenReducer {
    /// A block reduces where it leaves fewer tokens than it got.
    func reduces(layer l: Int) -> Bool { tokenCounts[l].mlp < tokenCounts[l].attention }
}
