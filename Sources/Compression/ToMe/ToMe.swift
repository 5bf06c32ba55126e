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
    public static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings] {
        (0...(dense.config.numPatches / 2)).map { Settings(schedule: .constant($0)) }
    }

    // The explorer: r from the keep ratio unless --r fixed it.

    public static let possibleStates: [PatchState] = [.center(group: 0), .merged(group: 0, weight: 1)]

    /// ToMe's r for a keep ratio: the mean token count over the blocks, N - r (depth - 1) / 2, is
    /// keep x N (N patches), so r = 2 (1 - keep) N / (depth - 1), rounded.
    public static func r(keep: Double, config c: ViTConfig) -> Int {
        guard c.depth > 1 else { return 0 }
        return max(0, Int((2 * (1 - keep) * Double(c.numPatches) / Double(c.depth - 1)).rounded()))
    }

    /// The command line's settings when it fixed the budget (`--r` or `--schedule`), else r from keep.
    static func explorerSettings(_ k: ExplorerKnobs, config: ViTConfig) throws -> (settings: Settings, fromKeep: Bool) {
        let a = k.arguments
        if a.r != nil || a.schedule != nil, let s = try settings(from: a) { return (s, false) }
        return (Settings(schedule: .constant(r(keep: k.keep, config: config)), proportionalAttention: !a.noPropAttn), true)
    }

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        let (s, fromKeep) = try explorerSettings(k, config: dense.config)
        let tome = try ToMeModel(dense: dense, schedule: s.schedule, proportionalAttention: s.proportionalAttention)
        // ToMe merges at most half of a block's tokens: name the r that actually ran when the cap bit.
        let merged = tome.merged, perBlock = merged.map(String.init).joined(separator: ",")
        let capped = zip(merged, tome.r).contains { $0 < $1 } ? " (capped at half the tokens: \(perBlock))" : ""
        let asked = label(s).dropFirst()
        let attn = s.proportionalAttention ? "on" : "off"
        let note = "ToMe: r = \(asked) merged per block" + capped + (fromKeep ? " (mean tokens ~ keep x all)" : "") + ", proportional attn \(attn)"
        let settings = [("r", capped.isEmpty ? String(asked) : "\(asked) capped \(perBlock)")] + (fromKeep ? [("keep", fixed2(k.keep))] : []) +
            [("prop-attn", attn)]
        return ExplorerRun(model: tome, note: note, settings: settings)
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        ["ToMe  keep \(fixed2(k.keep))  (r \(rText(k, config)) per block)"]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String {
        "ToMe keep \(fixed2(k.keep)) (r \(rText(k, config)))"
    }

    static func rText(_ k: ExplorerKnobs, _ config: ViTConfig) -> String {
        ((try? explorerSettings(k, config: config)).map { String(label($0.settings).dropFirst()) }) ?? "?"
    }

    public static func label(_ s: Settings) -> String {
        switch s.schedule {
        case .constant(let r): return "r\(r)"
        case .perBlock(let r): return "r" + r.map(String.init).joined(separator: "-")
        case .inflected(let r, let inflect): return "r\(r)i\(inflect)"
        case .tokens(let s): return "r" + s.label
        }
    }

    // The command line: --r (with --inflect) or --schedule, --no-prop-attn.

    public static let arguments: Set<MethodArguments.Key> = [.r, .inflect, .schedule, .noPropAttn]

    public static func settings(from a: MethodArguments) throws -> Settings? {
        let attn = !a.noPropAttn
        if let s = a.schedule {
            guard a.r == nil, a.inflect == nil else { throw MethodArgumentError("--schedule gives ToMe its counts per block: leave out --r and --inflect") }
            return Settings(schedule: .tokens(s), proportionalAttention: attn)
        }
        guard let r = a.r else { throw MethodArgumentError("--method tome needs --r (tokens merged per block, e.g. --r 8) or --schedule FILE") }
        if let inflect = a.inflect {
            guard r.count == 1 else { throw MethodArgumentError("--inflect makes the per-block list itself: give a single --r") }
            guard inflect.isFinite, (-1...1).contains(inflect) else { throw MethodArgumentError("--inflect must be in [-1, 1], got \(inflect)") }
            return Settings(schedule: .inflected(r: r[0], inflect: inflect), proportionalAttention: attn)
        }
        return Settings(schedule: r.count == 1 ? .constant(r[0]) : .perBlock(r), proportionalAttention: attn)
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
