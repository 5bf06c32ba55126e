import Engine

/// PiToMe as a method of the tool (the model and its reduction: `PiToMeModel`, `PiToMeReducer`,
/// `EnergyMatching`).
public enum PiToMe: CompressionMethod {
    public struct Settings: Sendable, Equatable {
        /// Fraction of its patch tokens each block keeps, in [0.5, 1].
        public var ratio: Double
        /// The first block's energy margin.
        public var margin: Double
        /// Protect low-energy tokens in the later blocks (off: ToMe-like matching on the energy order everywhere).
        public var protecting: Bool
        public init(ratio: Double = 0.9125, margin: Double = 0.75, protecting: Bool = true) {
            self.ratio = ratio; self.margin = margin; self.protecting = protecting
        }
    }
    public static let id = "pitome"
    public static let title = "PiToMe"
    public static let summary = "PiToMe: ToMe with an energy score, merging redundant tokens and protecting isolated ones; each block keeps --ratio of its tokens"

    public static let defaultSettings: Settings? = Settings()

    public static func model(dense: ViTModel, settings s: Settings) throws -> any CompressedModel {
        try PiToMeModel(dense: dense, ratio: s.ratio, margin: s.margin, protecting: s.protecting)
    }

    /// Ratios from 0.5 to 1 in steps of 0.0025.
    static let ratios: [Double] = (0...200).map { 0.5 + Double($0) * 0.0025 }

    public static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings] {
        ratios.map { Settings(ratio: $0) }
    }

    public static func label(_ s: Settings) -> String { FixedText.format(s.ratio, digits: 4) }

    // The explorer: the ratio whose mean token count over the blocks is nearest keep x all tokens.

    public static let possibleStates: [PatchState] = [.center(group: 0), .merged(group: 0, weight: 1)]

    static func ratio(keep: Double, config c: ViTConfig) -> Double {
        func mean(_ r: Double) -> Double {
            PiToMeModel.counts(c, ratio: r).reduce(0) { $0 + Double($1.mlp) } / Double(max(1, c.depth) * c.tokens)
        }
        return ratios.min { abs(mean($0) - keep) < abs(mean($1) - keep) } ?? 0.9125
    }

    static func explorerSettings(_ k: ExplorerKnobs, config: ViTConfig) -> Settings {
        let margin = k.arguments.margin ?? 0.75
        return Settings(ratio: k.arguments.ratio ?? ratio(keep: k.keep, config: config), margin: margin)
    }

    public static func explorerRun(dense: ViTModel, knobs k: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? {
        let s = explorerSettings(k, config: dense.config)
        let m = try PiToMeModel(dense: dense, ratio: s.ratio, margin: s.margin)
        let depth = m.dense.config.depth, first = (depth + 1) / 2 + 1
        let protected = first <= depth ? "; layers \(first)-\(depth) protect isolated tokens" : ""
        let note = "PiToMe: ratio \(label(s)) per block\(protected)"
        return ExplorerRun(model: m, note: note, settings: [("ratio", label(s)), ("margin", fixed2(s.margin))] + (k.arguments.ratio == nil ? [("keep", fixed2(k.keep))] : []))
    }

    public static func panelLines(knobs k: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] {
        ["PiToMe  keep \(fixed2(k.keep))  (ratio \(label(explorerSettings(k, config: config))))"]
    }

    public static func summaryLine(knobs k: ExplorerKnobs, config: ViTConfig) -> String {
        "PiToMe ratio \(label(explorerSettings(k, config: config)))"
    }

    // The command line: --ratio, --margin.

    public static let arguments: Set<MethodArguments.Key> = [.ratio, .margin]

    public static func settings(from a: MethodArguments) throws -> Settings? {
        if let r = a.ratio, !(r >= 0.5 && r <= 1) { throw MethodArgumentError("--ratio must be in [0.5, 1], got \(r)") }
        if let m = a.margin, !(m > -1 && m < 1) { throw MethodArgumentError("--margin must be in (-1, 1), got \(m)") }
        return Settings(ratio: a.ratio ?? 0.9125, margin: a.margin ?? 0.75)
    }
}

extension PiToMeModel: CompressedModel {
    public var method: any CompressionMethod.Type { PiToMe.self }
    public func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass { forward(batch: batch, recordLayouts: recordLayouts) }
}
