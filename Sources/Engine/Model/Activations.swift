/// Every intermediate tensor of a forward pass, in one arena with named views (llm.c's
/// ActivationTensors). Sized for a batch of up to `batch` images.
///
/// With `keepAllLayers` each block has its own copy of every tensor, which the backward pass needs.
/// Without it (plain inference) all blocks share one set, so memory and cache traffic stay at one
/// block's worth: a block's output buffer `res2` doubles as the next block's input, which is safe
/// because a block reads its input only into `ln1` and `res1` before it writes `res2`.
public final class Activations {
    /// One block's tensors. B = batch, T = tokens, D = dim, I = inner width, H = heads, M = mlp dim.
    public struct Layer {
        public var ln1: UnsafeMutablePointer<Float>       // [B, T, D]
        public var ln1Mean: UnsafeMutablePointer<Float>   // [B, T]
        public var ln1Rstd: UnsafeMutablePointer<Float>   // [B, T]
        public var qkv: UnsafeMutablePointer<Float>       // [B, T, 3I]
        public var att: UnsafeMutablePointer<Float>       // [B, H, T, T] softmax probabilities
        public var attOut: UnsafeMutablePointer<Float>    // [B, T, I]   heads concatenated, before proj
        public var res1: UnsafeMutablePointer<Float>      // [B, T, D]   x + proj(attn)
        public var ln2: UnsafeMutablePointer<Float>       // [B, T, D]
        public var ln2Mean: UnsafeMutablePointer<Float>   // [B, T]
        public var ln2Rstd: UnsafeMutablePointer<Float>   // [B, T]
        public var fc1: UnsafeMutablePointer<Float>       // [B, T, M]   before GELU
        public var gelu: UnsafeMutablePointer<Float>      // [B, T, M]
        public var res2: UnsafeMutablePointer<Float>      // [B, T, D]   block output
        /// Whether a backward pass will read these tensors. Without one, fc1 may be left unwritten
        /// (its bias and GELU run inside the product straight into `gelu`).
        public var forBackward: Bool
    }

    public let config: ViTConfig
    public let batch: Int
    public let keepAllLayers: Bool
    public let arena: Arena
    public let patches: UnsafeMutablePointer<Float>   // [B, P, C*p*p]  im2col of the input
    public let x0: UnsafeMutablePointer<Float>        // [B, T, D]      tokens + pos_embed, block 0's input
    public let layers: [Layer]
    public let lnf: UnsafeMutablePointer<Float>       // [B, prefix, D] final norm of CLS (and DIST)
    public let lnfMean: UnsafeMutablePointer<Float>   // [B, prefix]
    public let lnfRstd: UnsafeMutablePointer<Float>   // [B, prefix]
    public let logits: UnsafeMutablePointer<Float>    // [B, classes]

    public init(config c: ViTConfig, batch b: Int, keepAllLayers: Bool) {
        self.config = c
        self.batch = b
        self.keepAllLayers = keepAllLayers
        let t = c.tokens, d = c.dim, i = c.innerDim, h = c.heads, m = c.mlpDim
        let bt = b * t
        let perLayer = [bt * d, bt, bt, bt * 3 * i, b * h * t * t, bt * i, bt * d, bt * d, bt, bt, bt * m, bt * m, bt * d]
        let layerSize = perLayer.reduce(0, +)
        let fixed = [b * c.numPatches * c.patchDim, bt * d, b * c.prefixTokens * d, b * c.prefixTokens, b * c.prefixTokens, b * c.numClasses]
        let storedLayers = keepAllLayers ? c.depth : 1
        let arena = Arena(count: fixed.reduce(0, +) + storedLayers * layerSize, zeroed: false)
        self.arena = arena
        var off = 0
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { off += n }; return arena.base + off }
        patches = take(fixed[0]); x0 = take(fixed[1]); lnf = take(fixed[2]); lnfMean = take(fixed[3]); lnfRstd = take(fixed[4])
        logits = take(fixed[5])
        var stored: [Layer] = []
        for _ in 0..<storedLayers {
            stored.append(Layer(ln1: take(perLayer[0]), ln1Mean: take(perLayer[1]), ln1Rstd: take(perLayer[2]),
                                qkv: take(perLayer[3]), att: take(perLayer[4]), attOut: take(perLayer[5]),
                                res1: take(perLayer[6]), ln2: take(perLayer[7]), ln2Mean: take(perLayer[8]),
                                ln2Rstd: take(perLayer[9]), fc1: take(perLayer[10]), gelu: take(perLayer[11]),
                                res2: take(perLayer[12]), forBackward: keepAllLayers))
        }
        layers = keepAllLayers ? stored : [Layer](repeating: stored[0], count: c.depth)
    }

    /// The input of block l: the embedding for block 0, the previous block's output otherwise.
    public func input(ofLayer l: Int) -> UnsafeMutablePointer<Float> { l == 0 ? x0 : layers[l - 1].res2 }
}
