import Engine

/// No compression: every block on every token. The reference the other methods are measured
/// against, and what a dense file runs as without `--method`.
public enum Dense: CompressionMethod {
    /// Dense has nothing to set.
    public struct Settings: Sendable, Equatable {
        public init() {}
    }
    public static let id = "dense"
    public static let title = "dense"
    public static let summary = "every block on every token, no compression"
    public static let defaultSettings: Settings? = Settings()
    public static let shownInExplorer = false

    public static func model(dense: ViTModel, settings: Settings) throws -> any CompressedModel { DenseModel(dense) }
    public static func label(_ settings: Settings) -> String { "" }
}

/// A dense ViT seen as a `CompressedModel` that compresses nothing.
public final class DenseModel: CompressedModel, @unchecked Sendable {
    public let dense: ViTModel
    public init(_ dense: ViTModel) { self.dense = dense }
    public var method: any CompressionMethod.Type { Dense.self }
    public var tokenCounts: [TokenCount] {
        let n = dense.config.tokens
        return [TokenCount](repeating: TokenCount(attention: n, mlp: n), count: dense.config.depth)
    }
    public var blockFlops: [Double] {
        [Double](repeating: dense.config.blockFlops(tokens: dense.config.tokens), count: dense.config.depth)
    }
    /// The config's own count (the same sum, kept to the digit the commands always printed).
    public var flopsPerImage: Double { dense.config.flopsPerImage }
    public func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass { DensePass(dense, batch: batch) }
}

/// The engine's forward pass on shared activations (one block's worth: inference only).
public final class DensePass: CompressedPass {
    public let model: ViTModel
    public let acts: Activations
    public var batch: Int { acts.batch }

    public init(_ model: ViTModel, batch: Int) {
        self.model = model
        acts = Activations(config: model.config, batch: batch, keepAllLayers: false)
    }

    public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int, afterBlock: ((Int, UnsafePointer<Float>) -> Void)?) {
        if let afterBlock {
            model.forward(acts, images: images, batch: b, workers: workers) { l, a in afterBlock(l, UnsafePointer(a.res2)) }
        } else {
            model.forward(acts, images: images, batch: b, workers: workers)
        }
    }

    public var logitsPointer: UnsafePointer<Float> { UnsafePointer(acts.logits) }

    public func forwardGrid(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
        model.forward(acts, images: images, batch: b, workers: workers)
        return UnsafePointer(acts.layers[model.config.depth - 1].res2)
    }

    public func patchStates(layer l: Int, image i: Int) -> [PatchState]? { nil }
}
