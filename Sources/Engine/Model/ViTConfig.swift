import Foundation

/// The architecture of a timm `VisionTransformer` with a class token (DeiT, ViT), everything needed
/// to build the name -> shape table and to run the forward pass.
public struct ViTConfig: Sendable, Equatable, Codable {
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int
    public var dim: Int
    public var depth: Int
    public var heads: Int
    public var headDim: Int
    public var mlpDim: Int
    public var numClasses: Int
    /// DeiT's distillation token and second head (`dist_token`, `head_dist`).
    public var distilled: Bool
    public var qkvBias: Bool
    public var lnEps: Float = 1e-6

    public init(imageSize: Int, patchSize: Int, channels: Int = 3, dim: Int, depth: Int, heads: Int,
                headDim: Int? = nil, mlpDim: Int? = nil, numClasses: Int, distilled: Bool = false, qkvBias: Bool = true) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.headDim = headDim ?? dim / max(heads, 1)
        self.mlpDim = mlpDim ?? 4 * dim
        self.numClasses = numClasses
        self.distilled = distilled
        self.qkvBias = qkvBias
    }

    public var grid: Int { imageSize / patchSize }
    public var numPatches: Int { grid * grid }
    /// Tokens before the patches: CLS, and DIST when distilled.
    public var prefixTokens: Int { distilled ? 2 : 1 }
    public var tokens: Int { numPatches + prefixTokens }
    /// Width of q, k, v and of the attention output: heads * headDim (may differ from `dim`).
    public var innerDim: Int { heads * headDim }
    public var patchDim: Int { channels * patchSize * patchSize }
    public var attentionScale: Float { 1 / Float(headDim).squareRoot() }

    /// Checks that the numbers describe a model the engine can run; one line naming the field.
    public func validate() throws {
        func bad(_ s: String) -> EngineError { EngineError("invalid model configuration: \(s)") }
        for (name, v) in [("image size", imageSize), ("patch size", patchSize), ("channels", channels), ("dim", dim),
                          ("depth", depth), ("heads", heads), ("head dim", headDim), ("mlp dim", mlpDim), ("classes", numClasses)] {
            guard v > 0 else { throw bad("\(name) is \(v), must be positive") }
            guard v <= 1 << 20 else { throw bad("\(name) is \(v), implausibly large") }
        }
        guard imageSize % patchSize == 0 else { throw bad("image size \(imageSize) is not a multiple of patch size \(patchSize)") }
        guard tokens <= 16384 else { throw bad("\(tokens) tokens is more than this engine supports (16384)") }
    }

    /// Multiply-accumulates x 2 for one image's forward pass, counted from the GEMMs and the
    /// attention products (what `bench` reports as GFLOPs per image; elementwise ops are excluded).
    public var flopsPerImage: Double {
        embedAndHeadFlops + Double(depth) * blockFlops(tokens: tokens)
    }

    /// FLOPs (multiply-adds x 2) of one block run on `t` tokens: qkv, q k^T and A v, proj, MLP.
    public func blockFlops(tokens t: Int) -> Double {
        attentionFlops(tokens: t) + mlpFlops(tokens: t)
    }

    /// FLOPs of a block's attention half on `t` tokens: qkv, q k^T, A v, proj (token reduction
    /// methods run it on more tokens than the MLP half).
    public func attentionFlops(tokens t: Int) -> Double {
        let t = Double(t), d = Double(dim), i = Double(innerDim)
        return 2 * (t * d * 3 * i + 2 * t * t * i + t * i * d)
    }

    /// FLOPs of a block's MLP half on `t` tokens: fc1 and fc2.
    public func mlpFlops(tokens t: Int) -> Double {
        2 * (2 * Double(t) * Double(dim) * Double(mlpDim))
    }

    /// FLOPs of the patch embedding and of the head (once, on the prefix tokens).
    public var embedAndHeadFlops: Double {
        2 * (Double(numPatches) * Double(patchDim) * Double(dim) + Double(prefixTokens) * Double(dim) * Double(numClasses))
    }

    /// The JSON stored under `config` in the metadata of files TokenScope writes. Key names follow
    /// the fixtures (`img`, `patch`, `dim`, `depth`, `heads`, `classes`) plus the rest of the fields.
    public var metadataJSON: String {
        "{\"img\": \(imageSize), \"patch\": \(patchSize), \"channels\": \(channels), \"dim\": \(dim), \"depth\": \(depth), " +
        "\"heads\": \(heads), \"head_dim\": \(headDim), \"mlp\": \(mlpDim), \"classes\": \(numClasses), " +
        "\"distilled\": \(distilled), \"qkv_bias\": \(qkvBias)}"
    }
}
