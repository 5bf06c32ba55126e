import Engine
import Foundation

/// DiffRate's published schedules as a method of the tool (the model and its reduction:
/// `DiffRateModel`, `DiffRateReducer`, `PruneThenMerge`).
public enum DiffRate: CompressionMethod {
    public struct Settings: Sendable, Equatable {
        /// Per block, tokens kept by pruning and after merging; a schedule made for 197 tokens and
        /// 12 blocks is rescaled to other models (`TokenSchedule.rescaled`).
        public var schedule: TokenSchedule
        /// + log(size) on the attention logits, as DiffRate's DeiT patch.
        public var proportionalAttention: Bool
        public init(schedule: TokenSchedule = DiffRatePublished.standard, proportionalAttention: Bool = true) {
            self.schedule = schedule; self.proportionalAttention = proportionalAttention
        }
    }
    public static let id = "diffrate"
    public static let title = "DiffRate"
    public static let shortTitle = "DiffRt"
    public static let summary = "DiffRate: per block, prune by CLS attention, then merge the least attended into similar tokens, to a published schedule or --schedule"

    public static let defaultSettings: Settings? = Settings()

    public static func model(dense: ViTModel, settings: Settings) throws -> any CompressedModel {
        try DiffRateModel(dense: dense, schedule: fitted(settings.schedule, to: dense.config), proportionalAttention: settings.proportionalAttention)
    }

    /// A published schedule as it runs on `c` (rescaled when `c` is not 197 tokens in 12 blocks);
    /// a schedule from a file as it is.
    static func fitted(_ s: TokenSchedule, to c: ViTConfig) -> TokenSchedule {
        DiffRatePublished.schedules.contains(s) ? s.rescaled(to: c, fromPatches: DiffRatePublished.patches) : s
    }

    /// The published schedule nearest the budget.
    public static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings] {
        DiffRatePublished.schedules.map { Settings(schedule: $0) }
    }

    public static func label(_ s: Settings) -> String { s.schedule.label }

    // The explorer: the published schedule whose mean token count is nearest keep x all tokens.

    public static let possibleStates: [PatchState] = [.center(group: 0), .merged(group: 0, weight: 1), .discarded]

    static func schedule(keep: Double, config c: ViTConfig) -> TokenSchedule {
        let fitted = DiffRatePublished.schedules.map { $0.rescaled(to: c, fromPatches: DiffRatePublished.patches) }
        func mean(_ s: TokenSchedule) -> Double {
            s.counts(tokens: c.tokens).reduce(0) { $0 + Double($1.mlp) } / Double(max(1, c.depth) * c.tokens)
        }
        return fitted.min { abs(mean($0) - keep) < abs(mean($1) - keep) } ?? DiffRatePublished.standard
    }

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        let s = k.arguments.schedule ?? schedule(keep: k.keep, config: dense.config)
        let m = try DiffRateModel(dense: dense, schedule: s)
        let pruned = (0..<dense.config.depth).reduce(0) { $0 + m.split(layer: $1).pruned }
        let merged = (0..<dense.config.depth).reduce(0) { $0 + m.split(layer: $1).merged }
        let source = k.arguments.schedule == nil ? "(published, nearest keep \(fixed2(k.keep)))" : "(from the file)"
        let note = "DiffRate \(s.label) \(source): \(pruned) pruned, \(merged) merged in all"
        return ExplorerRun(model: m, note: note, settings: [("schedule", s.label), ("prop-attn", "on")])
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        ["DiffRate  schedule " + (k.arguments.schedule ?? schedule(keep: k.keep, config: config)).label]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String {
        "DiffRate " + (k.arguments.schedule ?? schedule(keep: k.keep, config: config)).label
    }

    public static func knobSettings(_ k: ExplorerKnobs, config: ViTConfig) -> [(key: String, value: String)] {
        [("schedule", (k.arguments.schedule ?? schedule(keep: k.keep, config: config)).label)]
    }

    // The command line: --schedule, --no-prop-attn.

    public static let arguments: Set<MethodArguments.Key> = [.schedule, .noPropAttn]

    public static func settings(from a: MethodArguments) throws -> Settings? {
        Settings(schedule: a.schedule ?? DiffRatePublished.standard, proportionalAttention: !a.noPropAttn)
    }
}

extension DiffRateModel: CompressedModel {
    public var method: any CompressionMethod.Type { DiffRate.self }
    public var reportedSettings: [(key: String, value: String)] { [("schedule", schedule.label)] }
    public func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass { forward(batch: batch, recordLayouts: recordLayouts) }
}
