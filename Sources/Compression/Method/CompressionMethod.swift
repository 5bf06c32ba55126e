import Engine

/// One token-compression method as the tool knows it: its names, its typed settings, and how it
/// makes a `CompressedModel` from a dense ViT. Everything a command or the explorer asks of "a
/// method" goes through this type and the model it makes, so a new method is one folder with a
/// conforming type plus one line in `MethodRegistry`.
///
/// The type is a namespace (an enum without cases): a method has no state, its settings do.
public protocol CompressionMethod {
    /// What the method needs to be applied to a dense model (ToMe: its r schedule; EViT: keep rate
    /// and blocks), checked when the model is made.
    associatedtype Settings: Sendable, Equatable

    /// The `--method` value, lower case (`tome`).
    static var id: String { get }
    /// What JSON reports as `kind` (`prune-and-merge`; usually the id).
    static var kind: String { get }
    /// The name people know it by, for the explorer and tables (`ToMe`).
    static var title: String { get }
    /// One sentence for `--help`: what the method does with the tokens.
    static var summary: String { get }

    /// The method applied to `dense` with `settings`.
    static func model(dense: ViTModel, settings: Settings) throws -> any CompressedModel

    /// What the method runs with when nothing is set (EViT: keep rate 0.7 at its blocks), or nil
    /// when it must be told (ToMe's r) or runs its own files only (Prune and Merge).
    static var defaultSettings: Settings? { get }

    /// The settings `compare` chooses among when it matches the method to a Prune and Merge row (on
    /// FLOPs, or on measured speed), in the order of the method's knob; empty when the method has
    /// nothing to set (dense) or lacks what it needs (Prune and Merge plans from `ranks`).
    static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings]
    /// The settings in a few characters, for row names (`r8` in `tome-r8`).
    static func label(_ settings: Settings) -> String

    // The explorer (`m` cycles through the methods that have `explorerRun`).

    /// Whether `m` and the methods layout show it (dense is every method's reference instead).
    static var shownInExplorer: Bool { get }
    /// The method's model for the explorer's knobs on `dense`, or nil when it is not shown there.
    static func explorerRun(dense: ViTModel, knobs: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun?
    /// The method and its settings in the panel, one or two lines. `settings` are the last
    /// analysis's (empty while none), for what the knobs do not say (a file's recovery).
    static func panelLines(knobs: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String]
    /// One line naming the method and its settings, over the all-layers view.
    static func summaryLine(knobs: ExplorerKnobs, config: ViTConfig) -> String
    /// The name in the panel's prediction row, at most 7 characters.
    static var shortTitle: String { get }
    /// Whether the method plans from scores: the prune keys, the plan source and grouping and
    /// recovery are for it (Prune and Merge).
    static var plansFromScores: Bool { get }
    /// The patch states the method can give, for the legend.
    static var possibleStates: [PatchState] { get }
    /// The settings the knobs alone give, as the export header names them (for an analysis made
    /// without the method's run).
    static func knobSettings(_ knobs: ExplorerKnobs, config: ViTConfig) -> [(key: String, value: String)]

    // The command line.

    /// The options (`MethodArguments`) the method reads; any other given with it is an error.
    static var arguments: Set<MethodArguments.Key> { get }
    /// The settings the options say (the rest at the method's defaults), or nil to run the
    /// method's own files as they are (Prune and Merge). Throws `MethodArgumentError` on values that
    /// make no sense for the method and on a required option missing.
    static func settings(from arguments: MethodArguments) throws -> Settings?

    /// Whether a model file is this method's own (Prune and Merge: it holds merge matrices) rather
    /// than a dense model the method is applied to.
    static func ownsFile(_ file: SafeTensorsFile) -> Bool
    /// Loads a file `ownsFile` accepts (the `ignoring` tensors, a trainer's moments, are skipped).
    static func load(path: String, heads: Int?, ignoring: @escaping (String) -> Bool) throws -> any CompressedModel
}

extension CompressionMethod {
    /// The model nearest `flops` with its row name (`id-label`), or nil as `settings(matchingFlops:)`.
    public static func matching(flops: Double, dense: ViTModel, ranks: [[Double]]?) throws -> (name: String, model: any CompressedModel)? {
        guard let s = try settings(matchingFlops: flops, dense: dense, ranks: ranks) else { return nil }
        return ("\(id)-\(label(s))", try model(dense: dense, settings: s))
    }

    /// The candidate whose model on `dense` comes nearest `flops` honest FLOPs per image (what
    /// `compare` puts beside a Prune and Merge row), or nil without candidates.
    public static func settings(matchingFlops flops: Double, dense: ViTModel, ranks: [[Double]]?) throws -> Settings? {
        try nearest(candidateSettings(dense: dense, ranks: ranks), flops: flops, dense: dense)
    }

    /// At most `count` candidates whose honest FLOPs lie within `window` (relative) of `flops`,
    /// spread evenly over that range (one per FLOPs value), with their row names: what `compare`
    /// times to find the setting nearest a Prune and Merge row's measured speed.
    public static func candidates(near flops: Double, within window: Double, count: Int, dense: ViTModel,
                                  ranks: [[Double]]?) throws -> [(name: String, model: any CompressedModel)] {
        var inRange: [(name: String, model: any CompressedModel)] = []
        for s in candidateSettings(dense: dense, ranks: ranks) {
            let m = try model(dense: dense, settings: s)
            guard abs(m.flopsPerImage - flops) <= window * flops,
                  !inRange.contains(where: { $0.model.flopsPerImage == m.flopsPerImage }) else { continue }
            inRange.append(("\(id)-\(label(s))", m))
        }
        inRange.sort { $0.model.flopsPerImage < $1.model.flopsPerImage }
        guard inRange.count > count, count > 1 else { return inRange }
        var picked: [(name: String, model: any CompressedModel)] = []
        for q in 0..<count {
            let c = inRange[q * (inRange.count - 1) / (count - 1)]
            if !picked.contains(where: { $0.name == c.name }) { picked.append(c) }
        }
        return picked
    }

    /// The candidate whose model's FLOPs are nearest `flops` (the first of equals).
    static func nearest(_ candidates: [Settings], flops: Double, dense: ViTModel) throws -> Settings? {
        var best: (Settings, Double)?
        for s in candidates {
            let gap = abs(try model(dense: dense, settings: s).flopsPerImage - flops)
            if best.map({ gap < $0.1 }) ?? true { best = (s, gap) }
        }
        return best?.0
    }

    public static var kind: String { id }
    public static var shownInExplorer: Bool { true }
    public static func knobSettings(_ knobs: ExplorerKnobs, config: ViTConfig) -> [(key: String, value: String)] { [] }
    public static var shortTitle: String { title }
    public static var plansFromScores: Bool { false }
    public static var possibleStates: [PatchState] { [] }
    public static func explorerRun(dense: ViTModel, knobs: ExplorerKnobs, scores: ExplorerScores) throws -> ExplorerRun? { nil }
    public static func panelLines(knobs: ExplorerKnobs, config: ViTConfig, settings: [(key: String, value: String)]) -> [String] { [title] }
    public static func summaryLine(knobs: ExplorerKnobs, config: ViTConfig) -> String { title }
    public static var defaultSettings: Settings? { nil }
    public static var arguments: Set<MethodArguments.Key> { [] }
    public static func candidateSettings(dense: ViTModel, ranks: [[Double]]?) -> [Settings] { [] }
    public static func settings(from arguments: MethodArguments) throws -> Settings? { defaultSettings }

    /// What the options choose: the method at `settings(from:)`, or its own files.
    public static func choice(from a: MethodArguments) throws -> MethodChoice {
        try a.check(for: Self.self)
        return try settings(from: a).map { MethodChoice(Self.self, settings: $0) } ?? MethodChoice(fileOf: Self.self)
    }

    /// `defaultSettings`, or this method's own files when it has none.
    static var defaultChoice: MethodChoice {
        defaultSettings.map { MethodChoice(Self.self, settings: $0) } ?? MethodChoice(fileOf: Self.self)
    }
    public static func ownsFile(_ file: SafeTensorsFile) -> Bool { false }
    public static func load(path: String, heads: Int?, ignoring: @escaping (String) -> Bool) throws -> any CompressedModel {
        throw EngineError("--method \(id) runs dense model files; \(path) is not one of its own")
    }
}
