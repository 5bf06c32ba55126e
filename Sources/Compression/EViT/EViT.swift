import Engine
import Foundation

/// EViT as a method of the tool (the model and its reduction: `EViTModel`, `EViTReducer`).
public enum EViT: CompressionMethod {
    public struct Settings: Sendable, Equatable {
        /// Fraction of the patch tokens kept at each reducing block, in (0, 1].
        public var keepRate: Double
        /// Reducing blocks, 0-based; nil: EViT's (`EViTModel.defaultBlocks`).
        public var blocks: [Int]?
        /// The tokens each block leaves, from a file (`--schedule`); set, it replaces the keep rate
        /// and the blocks.
        public var schedule: TokenSchedule?
        public init(keepRate: Double = 0.7, blocks: [Int]? = nil, schedule: TokenSchedule? = nil) {
            self.keepRate = keepRate; self.blocks = blocks; self.schedule = schedule
        }
    }
    public static let id = "evit"
    public static let title = "EViT"
    public static let summary = "EViT: at --blocks keep the --keep-rate patch tokens CLS attends to most, fuse the rest into one"

    public static let defaultSettings: Settings? = Settings()

    public static func model(dense: ViTModel, settings: Settings) throws -> any CompressedModel {
        if let s = settings.schedule { return try EViTModel(dense: dense, schedule: s) }
        return try EViTModel(dense: dense, keepRate: settings.keepRate, blocks: settings.blocks)
    }

    /// A keep rate in hundredths from 0.05 to 1 at EViT's blocks.
    public static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings] {
        stride(from: 0.05, through: 1.0001, by: 0.01).map { Settings(keepRate: ($0 * 100).rounded() / 100) }
    }

    // The explorer: the keep ratio is the keep rate.

    public static let possibleStates: [PatchState] = [.dropped]

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        if let s = k.arguments.schedule {
            let e = try EViTModel(dense: dense, schedule: s)
            let note = "EViT: keeps the tokens schedule \(s.label) gives each block; the rest fused into one token per block"
            return ExplorerRun(model: e, note: note, settings: [("schedule", s.label)])
        }
        let rate = k.arguments.keepRate ?? k.keep
        let e = try EViTModel(dense: dense, keepRate: rate, blocks: k.arguments.blocks)
        let note = "EViT: keeps \(fixed2(rate)) of patches at layers \(e.blocks.map { "\($0 + 1)" }.joined(separator: ", ")); the rest fused into one token"
        // 0-based, as --blocks takes them (layers are numbered from 1 elsewhere in the export).
        return ExplorerRun(model: e, note: note, settings: [("keep-rate", fixed2(rate)), ("blocks", e.blocks.map(String.init).joined(separator: ","))])
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        [k.arguments.schedule.map { "EViT  schedule \($0.label)" } ?? "EViT  keep \(fixed2(k.arguments.keepRate ?? k.keep))  (keep rate)"]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String {
        k.arguments.schedule.map { "EViT schedule \($0.label)" } ?? "EViT keep rate \(fixed2(k.arguments.keepRate ?? k.keep))"
    }

    public static func label(_ s: Settings) -> String { s.schedule.map { "s" + $0.label } ?? fixed2(s.keepRate) }

    // The command line: --keep-rate and --blocks, or --schedule.

    public static let arguments: Set<MethodArguments.Key> = [.keepRate, .blocks, .schedule]

    public static func settings(from a: MethodArguments) throws -> Settings? {
        if let s = a.schedule {
            guard a.keepRate == nil, a.blocks == nil else { throw MethodArgumentError("--schedule gives EViT its counts per block: leave out --keep-rate and --blocks") }
            return Settings(schedule: s)
        }
        if let r = a.keepRate, !(r > 0 && r <= 1) { throw MethodArgumentError("--keep-rate must be in (0, 1], got \(r)") }
        return Settings(keepRate: a.keepRate ?? 0.7, blocks: a.blocks)
    }
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
