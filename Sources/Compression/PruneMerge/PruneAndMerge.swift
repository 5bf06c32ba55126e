import Engine
import Foundation

/// Prune and Merge as a method of the tool: a plan from accumulated scores (`PMPlanner`), or the
/// plan a Prune and Merge file holds (`PMModel`).
public enum PruneAndMerge: CompressionMethod {
    public struct Settings: Sendable, Equatable {
        /// Per block, the accumulated scores the plan ranks patches by (calibrated or live).
        public var ranks: [[Double]]
        /// Centers kept and patches pruned, as fractions of the patches.
        public var keep: Double, prune: Double
        public var grouping: PMPlanner.Grouping
        public var recovery: PMRecovery
        public init(ranks: [[Double]], keep: Double, prune: Double, grouping: PMPlanner.Grouping = .grid, recovery: PMRecovery = .update) {
            self.ranks = ranks; self.keep = keep; self.prune = prune; self.grouping = grouping; self.recovery = recovery
        }
    }
    public static let id = "pm"
    public static let kind = "prune-and-merge"
    public static let title = "Prune and Merge"
    public static let summary = "a Prune and Merge file's plan, made by `tokenscope compress`"

    /// Every block planned from `settings.ranks`, as `compress` plans it.
    public static func model(dense: ViTModel, settings s: Settings) throws -> any CompressedModel {
        let c = dense.config
        let plan = try PMPlanner.plan(ranks: s.ranks, config: c,
                                      options: .init(keep: s.keep, prune: s.prune, blocks: Array(0..<c.depth), grouping: s.grouping))
        return try PMModel(dense: dense, blocks: plan, recovery: s.recovery)
    }

    /// A keep ratio in hundredths from 0.05 to 0.9 with prune 0.1, planned from `ranks`.
    public static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings] {
        guard let ranks else { return [] }
        return stride(from: 0.05, through: 0.9001, by: 0.01).map { Settings(ranks: ranks, keep: ($0 * 100).rounded() / 100, prune: 0.1) }
    }

    public static func label(_ s: Settings) -> String { String(format: "k%02d", Int((s.keep * 100).rounded())) }

    // The explorer: keep and prune, the plan source, grouping and recovery are all Prune and Merge's.

    public static let shortTitle = "PM"
    public static let plansFromScores = true
    public static let possibleStates: [PatchState] = [.center(group: 0), .merged(group: 0, weight: 1), .pruned, .unassigned]

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        if k.planFromFile, let file = scores.filePlan {
            return ExplorerRun(model: file, note: "plan from the PM file (fixed)",
                               settings: [("plan", "from the PM file"), ("recovery", file.recovery.rawValue)])
        }
        let note = scores.calibrated ? "plan from calibrated ranks (static, as the paper)" : "plan from this image's live scores (adaptive)"
        // `compress` with the same --grouping and --recovery would write this plan.
        let m = try model(dense: dense, settings: .init(ranks: scores.ranks, keep: k.keep, prune: k.prune, grouping: k.grouping, recovery: k.recovery))
        return ExplorerRun(model: m, note: note, settings: planSettings(k))
    }

    /// The settings of a plan made from scores, as the analysis and the exports name them.
    public static func planSettings(_ k: ExplorerKnobs) -> [(key: String, value: String)] {
        [("keep", fixed2(k.keep)), ("prune", fixed2(k.prune)), ("grouping", k.grouping.rawValue),
         ("recovery", k.recovery.rawValue), ("scores", k.planSource)]
    }

    public static func knobSettings(_ k: ExplorerKnobs, config: ViTConfig) -> [(key: String, value: String)] {
        k.planFromFile ? [("plan", "from the PM file")] : planSettings(k)
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        if k.planFromFile {
            // The file's recovery is the file's: the analysis read it.
            let recovery = settings.first { $0.key == "recovery" }?.value
            return ["PM plan: from the file" + (recovery.map { "  recovery \($0)" } ?? "")]
        }
        return [String(format: "PM keep %.2f prune %.2f  plan: ", k.keep, k.prune) + k.planSource,
                "   grouping \(k.grouping.rawValue)  recovery \(k.recovery.rawValue)"]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String {
        k.planFromFile ? "Prune and Merge, the PM file's plan"
            : String(format: "Prune and Merge keep %.2f prune %.2f, plan: %@", k.keep, k.prune, k.planSource)
    }

    public static func ownsFile(_ file: SafeTensorsFile) -> Bool { file.names.contains(where: PMModel.isPMTensor) }

    public static func load(path: String, heads: Int?, ignoring: @escaping (String) -> Bool) throws -> any CompressedModel {
        try PMModel(path: path, heads: heads, ignoring: ignoring)
    }
}

extension PMModel: CompressedModel {
    public var method: any CompressionMethod.Type { PruneAndMerge.self }
    public var tokenCounts: [TokenCount] { channels.map { TokenCount(attention: $0, mlp: $0) } }
    /// Every block hands the restored grid on.
    public var restoresGrid: Bool { true }
    public var reportedSettings: [(key: String, value: String)] { [("recovery", recovery.rawValue)] }
    /// Each block at its token count, plus its merge and recover products where it is compressed.
    public var blockFlops: [Double] {
        let c = dense.config
        return blocks.enumerated().map { l, b in c.blockFlops(tokens: b?.channels ?? c.tokens) + (b.map(mergeRecoverFlops) ?? 0) }
    }
    public func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass { PMForward(model: self, batch: batch) }
}

/// Prune and Merge's pass: the plan is the same for every image, so its states are the plan's.
extension PMForward: CompressedPass {
    public var logitsPointer: UnsafePointer<Float> { UnsafePointer(acts.logits) }

    public func forwardGrid(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
        forward(images: images, batch: b, workers: workers)
        // Every block hands the full grid on; the last one's output is what the head read.
        guard let last = blockOutputs[model.dense.config.depth - 1] else { preconditionFailure("PMForward ran no blocks") }
        return last
    }

    public func patchStates(layer l: Int, image i: Int) -> [PatchState]? { model.blocks[l]?.layout?.states }
}
