import Engine
import Foundation

/// EViT as a method of the tool (the model and its reduction: `EViTModel`, `EViTReducer`).
public enum EViT: CompressionMethod {
    public struct Settings: Sendable, Equatable {
        /// Fraction of the patch tokens kept at each reducing block, in (0, 1].
        public var keepRate: Double
        /// Reducing blocks, 0-based; nil: EViT's (`EViTModel.defaultBlocks`).
        public var blocks: [Int]?
        public init(keepRate: Double = 0.7, blocks: [Int]? = nil) { self.keepRate = keepRate; self.blocks = blocks }
    }
    public static let id = "evit"
    public static let title = "EViT"
    public static let summary = "EViT: at --blocks keep the --keep-rate patch tokens CLS attends to most, fuse the rest into one"

    public static let defaultSettings: Settings? = Settings()

    public static func model(dense: ViTModel, settings: Settings) throws -> any CompressedModel {
        try EViTModel(dense: dense, keepRate: settings.keepRate, blocks: settings.blocks)
    }

    /// A keep rate in hundredths from 0.05 to 1 at EViT's blocks.
    public static func settings(matchingFlops flops: Double, dense: ViTModel, ranks: [[Double]]?) throws -> Settings? {
        let rates = stride(from: 0.05, through: 1.0001, by: 0.01).map { ($0 * 100).rounded() / 100 }
        return try nearest(rates.map { Settings(keepRate: $0) }, flops: flops, dense: dense)
    }

    // The explorer: the keep ratio is the keep rate.

    public static let possibleStates: [PatchState] = [.dropped]

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        let e = try EViTModel(dense: dense, keepRate: k.keep, blocks: k.evitBlocks)
        let note = "EViT: keeps \(fixed2(k.keep)) of patches at layers \(e.blocks.map { "\($0 + 1)" }.joined(separator: ", ")); the rest fused into one token"
        // 0-based, as --blocks takes them (layers are numbered from 1 elsewhere in the export).
        return ExplorerRun(model: e, note: note, settings: [("keep-rate", fixed2(k.keep)), ("blocks", e.blocks.map(String.init).joined(separator: ","))])
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        [String(format: "EViT  keep %.2f  (keep rate)", k.keep)]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String { String(format: "EViT keep rate %.2f", k.keep) }

    public static func label(_ s: Settings) -> String { String(format: "%.2f", s.keepRate) }
}

extension EViTModel: CompressedModel {
    public var method: any CompressionMethod.Type { EViT.self }
    /// Each block's attention and MLP at their token counts, plus the fused token's weighted sum
    /// (fused candidates x D) where the block reorganises (the terms of `flopsPerImage`).
    public var blockFlops: [Double] {
        let c = dense.config
        return tokenCounts.enumerated().map { l, n in
            let fused = n.attention - c.prefixTokens - (n.mlp - c.prefixTokens - 1)
            return c.attentionFlops(tokens: n.attention) + c.mlpFlops(tokens: n.mlp) + (reducing[l] ? 2 * Double(fused) * Double(c.dim) : 0)
        }
    }
    public func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass { forward(batch: batch, recordLayouts: recordLayouts) }
}
