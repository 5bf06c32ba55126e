import Engine
import Foundation

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

    // The explorer: r from the keep ratio unless --r fixed it.

    public static let possibleStates: [PatchState] = [.center(group: 0), .merged(group: 0, weight: 1)]

    /// ToMe's r for a keep ratio: the mean token count over the blocks, N - r (depth - 1) / 2, is
    /// keep x N (N patches), so r = 2 (1 - keep) N / (depth - 1), rounded.
    public static func r(keep: Double, config c: ViTConfig) -> Int {
        guard c.depth > 1 else { return 0 }
        return max(0, Int((2 * (1 - keep) * Double(c.numPatches) / Double(c.depth - 1)).rounded()))
    }

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        let r = k.tomeR ?? Self.r(keep: k.keep, config: dense.config)
        let tome = try ToMeModel(dense: dense, r: r)
        // ToMe merges at most half of a block's tokens: name the r that actually ran when the cap bit.
        let merged = tome.merged, perBlock = merged.map(String.init).joined(separator: ",")
        let capped = merged.contains { $0 < r } ? " (capped at half the tokens: \(perBlock))" : ""
        let note = "ToMe: r = \(r) merged per block" + capped + (k.tomeR == nil ? " (mean tokens ~ keep x all)" : "") + ", proportional attn"
        let settings = [("r", capped.isEmpty ? "\(r)" : "\(r) capped \(perBlock)")] + (k.tomeR == nil ? [("keep", fixed2(k.keep))] : []) +
            [("prop-attn", "on")]
        return ExplorerRun(model: tome, note: note, settings: settings)
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        [String(format: "ToMe  keep %.2f  (r %d per block)", k.keep, k.tomeR ?? r(keep: k.keep, config: config))]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String {
        String(format: "ToMe keep %.2f (r %d)", k.keep, k.tomeR ?? r(keep: k.keep, config: config))
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
