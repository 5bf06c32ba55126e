import Engine

/// ToMe as a method of the tool (the model and its reduction: `ToMeModel`, `ToMeReducer`).
public enum ToMe: CompressionMethod {
    public struct Settings: Sendable, Equatable {
        /// r per block, as ToMe's `parse_r` takes it.
        public var schedule: ToMeModel.Schedule
        /// + log(size) on the attention logits (ToMe's timm default).
        public var proportionalAttention: Bool
        public init(schedule: ToMeModel.Schedule, proportionalAttention: Bool = true) {
            self.schedule = schedule; self.proportionalAttention = proportionalAttention
        }
    }
    public static let id = "tome"
    public static let title = "ToMe"
    public static let summary = "ToMe: merge --r tokens per block by key similarity"

    public static func model(dense: ViTModel, settings: Settings) throws -> any CompressedModel {
        try ToMeModel(dense: dense, schedule: settings.schedule, proportionalAttention: settings.proportionalAttention)
    }

    /// The same r in every block, from 0 to half the patches.
    public static func settings(matchingFlops flops: Double, dense: ViTModel, ranks: [[Double]]?) throws -> Settings? {
        try nearest((0...(dense.config.numPatches / 2)).map { Settings(schedule: .constant($0)) }, flops: flops, dense: dense)
    }

    public static func label(_ s: Settings) -> String {
        switch s.schedule {
        case .constant(let r): return "r\(r)"
        case .perBlock(let r): return "r" + r.map(String.init).joined(separator: "-")
        case .inflected(let r, let inflect): return "r\(r)i\(inflect)"
        }
    }
}

extension ToMeModel: CompressedModel {
    public var method: any CompressionMethod.Type { ToMe.self }
    /// Each block's attention at its input tokens, its MLP at the tokens left, and the matching's
    /// similarity product where it merges (the terms of `flopsPerImage`).
    public var blockFlops: [Double] {
        let c = dense.config
        return tokenCounts.map { n in
            c.attentionFlops(tokens: n.attention) + c.mlpFlops(tokens: n.mlp) +
                (n.mlp < n.attention ? Self.similarityFlops(tokens: n.attention, headDim: c.headDim) : 0)
        }
    }
    public func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass { forward(batch: batch, recordLayouts: recordLayouts) }
}
