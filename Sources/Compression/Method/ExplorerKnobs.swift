import Engine

/// What the explorer's keys have set, as every method reads it: the keep ratio is every method's
/// (so the methods compare at one budget), the rest each method reads or ignores (`prune`, the plan
/// source, grouping and recovery shape Prune and Merge's plans; `arguments` come from the command
/// line and fix what they say, such as ToMe's r or a DiffRate schedule).
public struct ExplorerKnobs: Sendable, Equatable {
    public var keep: Double
    public var prune: Double
    public var grouping: PMPlanner.Grouping
    public var recovery: PMRecovery
    /// The plan source's name, as the explorer shows it (`file`, `calibrated`, `image`).
    public var planSource: String
    /// Whether the plan is a Prune and Merge file's own (`--pm`), fixed.
    public var planFromFile: Bool
    /// The method's options from the command line (what each method reads: its `arguments`).
    public var arguments: MethodArguments

    public init(keep: Double, prune: Double, grouping: PMPlanner.Grouping, recovery: PMRecovery, planSource: String,
                planFromFile: Bool, arguments: MethodArguments = MethodArguments()) {
        self.keep = keep; self.prune = prune; self.grouping = grouping; self.recovery = recovery
        self.planSource = planSource; self.planFromFile = planFromFile; self.arguments = arguments
    }
}

/// The data behind the knobs, for the method to run on: what a plan ranks patches by.
public struct ExplorerScores {
    /// The plan a Prune and Merge file holds, when the knobs say to use it.
    public var filePlan: PMModel?
    /// Per block, the scores a plan from scores ranks patches by (calibrated or this image's).
    public var ranks: [[Double]]
    /// Whether `ranks` are calibrated (static, as the paper) rather than this image's live scores.
    public var calibrated: Bool

    public init(filePlan: PMModel?, ranks: [[Double]], calibrated: Bool) {
        self.filePlan = filePlan; self.ranks = ranks; self.calibrated = calibrated
    }
}

/// What a method shows for one state of the explorer: its model, a sentence on what it did, and
/// its settings in the order the export header shows them.
public struct ExplorerRun {
    public var model: any CompressedModel
    public var note: String
    public var settings: [(key: String, value: String)]

    public init(model: any CompressedModel, note: String, settings: [(key: String, value: String)]) {
        self.model = model; self.note = note; self.settings = settings
    }
}
