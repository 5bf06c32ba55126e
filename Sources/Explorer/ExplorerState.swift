import Compression

/// Everything the explorer shows that the user chooses, and how keys change it: a pure reducer
/// (state + key -> state + effects), tested without a terminal.
public struct ExplorerState: Equatable, Sendable {
    /// What each patch shows: its state over the picture, its live score, its group, or how far
    /// its restored token is from the dense model's.
    public enum View: String, CaseIterable, Sendable {
        case states, scores, groups, restoreError = "restore error"
    }
    /// How the screen is laid out (keys 1, 2, 3): one layer large with the panel, every layer's map
    /// side by side, or the three methods side by side at the same layer and keep ratio.
    public enum Layout: String, CaseIterable, Sendable {
        case layer = "one layer", strip = "all layers", methods = "methods side by side"
    }
    /// State glyphs over the picture (`t` cycles): automatic shows them only where a patch has room
    /// (`Renderer.glyphCells` cells or more; in the states view only the group centers' letters), so
    /// they never bury the picture. Without colour they are always on: they are all there is.
    public enum Glyphs: String, CaseIterable, Sendable {
        case auto, on, off
    }
    public enum ScoreSource: String, Sendable {
        /// The model's static plan from calibrated ranks, as the paper does.
        case calibrated
        /// Live forward + backward on the image on screen: an adaptive plan for this image.
        case image
        /// The plan stored in a Prune and Merge file (`--pm`), possibly fine-tuned: fixed.
        case file
    }
    /// The methods `m` cycles through: the registry's (`ExplorerMethod`).
    public typealias Method = ExplorerMethod

    public var layer = 0
    public var keep = 0.7
    public var prune = 0.1
    public var view: View = .states
    public var layout: Layout = .layer
    public var glyphs: Glyphs = .auto
    public var scoreSource: ScoreSource = .calibrated
    public var method: Method = .first
    /// How Prune and Merge plans made from scores group their kept tokens (`g` toggles): `grid` keeps
    /// groups inside a grid row, `official` reproduces the official code, its row quirk included.
    public var grouping: PMPlanner.Grouping = .grid
    /// How compressed blocks restore the grid (`u` toggles): `update` keeps every token's own
    /// features, `official` replaces kept tokens by recover @ block output (README, "Recovery").
    public var recovery: PMRecovery = .update
    public var image = 0
    public var showHelp = false
    /// The patch picked with the mouse or the patch cursor (H J K L, Shift+arrows; row-major, from
    /// 0): the panel shows its state, group, center and score in every layer. Esc clears it.
    public var selectedPatch: Int?
    /// The method's options from the command line (ToMe's `--r`, EViT's `--blocks`, a DiffRate
    /// `--schedule`...). The keep keys clear those that set a budget (`MethodArguments.budgetCleared`).
    public var methodArguments = MethodArguments()
    public var quit = false
    /// One-line message for the status bar.
    public var status = ""

    public let depth: Int
    /// Patches per side of the grid (0: unknown, no patch cursor).
    public let grid: Int
    public let imageCount: Int
    /// Whether calibrated ranks exist; without them the score source stays `image`.
    public let hasCalibratedRanks: Bool
    /// Whether a Prune and Merge file's own plan is available (`--pm`).
    public let hasFilePlan: Bool
    let initial: (keep: Double, prune: Double, grouping: PMPlanner.Grouping, recovery: PMRecovery)

    public init(depth: Int, grid: Int = 0, imageCount: Int, hasCalibratedRanks: Bool, hasFilePlan: Bool = false, keep: Double = 0.7,
                prune: Double = 0.1, grouping: PMPlanner.Grouping = .grid, recovery: PMRecovery = .update) {
        self.depth = max(1, depth)
        self.grid = max(0, grid)
        self.imageCount = max(1, imageCount)
        self.hasCalibratedRanks = hasCalibratedRanks
        self.hasFilePlan = hasFilePlan
        self.keep = keep
        self.prune = prune
        self.grouping = grouping
        self.recovery = recovery
        initial = (keep, prune, grouping, recovery)
        scoreSource = Self.firstSource(hasFilePlan, hasCalibratedRanks)
    }

    static func firstSource(_ file: Bool, _ ranks: Bool) -> ScoreSource { file ? .file : (ranks ? .calibrated : .image) }

    /// The score sources this session has, in the order `s` cycles through them.
    public var sources: [ScoreSource] { (hasFilePlan ? [.file] : []) + (hasCalibratedRanks ? [.calibrated] : []) + [.image] }

    public static func == (a: ExplorerState, b: ExplorerState) -> Bool {
        a.layer == b.layer && a.keep == b.keep && a.prune == b.prune && a.view == b.view && a.scoreSource == b.scoreSource &&
            a.method == b.method && a.image == b.image && a.showHelp == b.showHelp && a.quit == b.quit && a.status == b.status &&
            a.selectedPatch == b.selectedPatch && a.methodArguments == b.methodArguments &&
            a.grouping == b.grouping && a.recovery == b.recovery && a.layout == b.layout && a.glyphs == b.glyphs
    }

    public enum Key: Equatable, Sendable {
        case left, right, up, down, home, end, tab, escape, ctrlL, resize
        /// Shift+arrows: move the patch cursor.
        case shiftLeft, shiftRight, shiftUp, shiftDown
        case char(Character)
        /// A left click on a screen cell; `Renderer.patch(atX:y:width:height:)` says which patch.
        case click(x: Int, y: Int)
        /// Select a patch (nil: clear), what a click on the grid becomes.
        case select(patch: Int?)
    }

    public enum Effect: Equatable, Sendable {
        /// Plan, compressed forward and predictions must be recomputed (keep, prune, image, scores).
        case recompute
        /// Write the text patch maps of every layer.
        case export
        case redraw
    }

    static let step = 0.05

    /// Applies one key. Keys other than Esc, ? and q are ignored while help is open. On a screen too
    /// small to draw the view (`screenFits` false: only the size message shows), q quits and every
    /// other key is ignored: nothing changes that the user cannot see, and an open help, invisible
    /// there, cannot swallow the q.
    public mutating func handle(_ key: Key, screenFits: Bool = true) -> [Effect] {
        if !screenFits {
            switch key {
            case .char("q"): quit = true; return []
            case .resize, .ctrlL: return [.redraw]
            default: return []
            }
        }
        if showHelp {
            switch key {
            case .escape, .char("?"), .char("q"): showHelp = false; return [.redraw]
            case .resize, .ctrlL: return [.redraw]
            default: return []
            }
        }
        switch key {
        case .left, .char("h"): if layer > 0 { layer -= 1 }; return [.redraw]
        case .right, .char("l"): if layer < depth - 1 { layer += 1 }; return [.redraw]
        case .home: layer = 0; return [.redraw]
        case .end: layer = depth - 1; return [.redraw]
        case .char("]") where !plans, .char("[") where !plans:
            status = "the prune rate is \(Self.plannerTitle)'s; \(method.rawValue) follows the keep ratio (up/down)"
            return [.redraw]
        case .up, .char("k"), .down, .char("j"), .char("]"), .char("["):
            if scoreSource == .file && plans {
                status = "the PM file fixes this plan; s: plan from scores, where keep and prune apply"
                return [.redraw]
            }
            return adjust(key)
        default: return others(key)
        }
    }

    /// Keep and prune keys (the plan is made from scores).
    mutating func adjust(_ key: Key) -> [Effect] {
        switch key {
        case .up, .char("k"): return setKeep(keep + Self.step)
        case .down, .char("j"): return setKeep(keep - Self.step)
        case .char("]"): return setPrune(prune - Self.step)
        case .char("["): return setPrune(prune + Self.step)
        default: return []
        }
    }

    /// Every other key.
    mutating func others(_ key: Key) -> [Effect] {
        switch key {
        case .tab, .char("v"):
            let all = View.allCases
            view = all[((all.firstIndex(of: view) ?? 0) + 1) % all.count]
            return [.redraw]
        case .char("s"):
            let all = sources
            guard all.count > 1 else {
                status = "no calibrated ranks: scores come from the image on screen (give --ranks)"
                return [.redraw]
            }
            scoreSource = all[((all.firstIndex(of: scoreSource) ?? 0) + 1) % all.count]
            if !plans { status = "plan source \(scoreSource.rawValue): used by \(Self.plannerTitle) (m switches method)" }
            return [.recompute]
        case .char("m"):
            let all = Method.allCases
            method = all[((all.firstIndex(of: method) ?? 0) + 1) % all.count]
            return [.recompute]
        case .char("g"), .char("u"): return togglePlanMode(key)
        case .char("n"): image = (image + 1) % imageCount; return [.recompute]
        case .char("p"): image = (image - 1 + imageCount) % imageCount; return [.recompute]
        case .char("e"): return [.export]
        case .char("1"), .char("2"), .char("3"):
            let all = Layout.allCases
            guard case .char(let c) = key, let i = c.wholeNumberValue, i >= 1, i <= all.count else { return [] }
            layout = all[i - 1]
            return layout == .methods ? [.recompute] : [.redraw]
        case .char("t"):
            let all = Glyphs.allCases
            glyphs = all[((all.firstIndex(of: glyphs) ?? 0) + 1) % all.count]
            status = "glyphs \(glyphs.rawValue)" + (glyphs == .auto ? ": shown where a patch has room for them" : "")
            return [.redraw]
        case .shiftLeft, .char("H"): return moveCursor(dx: -1, dy: 0)
        case .shiftRight, .char("L"): return moveCursor(dx: 1, dy: 0)
        case .shiftUp, .char("K"): return moveCursor(dx: 0, dy: -1)
        case .shiftDown, .char("J"): return moveCursor(dx: 0, dy: 1)
        case .char("r"):
            layer = 0; keep = initial.keep; prune = initial.prune; grouping = initial.grouping; recovery = initial.recovery; view = .states; method = .first; selectedPatch = nil
            layout = .layer; glyphs = .auto
            scoreSource = Self.firstSource(hasFilePlan, hasCalibratedRanks)
            status = "reset"
            return [.recompute]
        case .char("?"): showHelp = true; return [.redraw]
        case .char("q"): quit = true; return []
        case .ctrlL, .resize: return [.redraw]
        case .select(let p): selectedPatch = p; return [.redraw]
        case .escape: selectedPatch = nil; return [.redraw]
        default: return []
        }
    }

    /// The patch cursor: the first move starts at the grid's middle patch; moves stop at the edges.
    mutating func moveCursor(dx: Int, dy: Int) -> [Effect] {
        guard grid > 0 else { return [] }
        guard let p = selectedPatch, p < grid * grid else {
            selectedPatch = (grid / 2) * grid + grid / 2
            return [.redraw]
        }
        let r = max(0, min(grid - 1, p / grid + dy)), c = max(0, min(grid - 1, p % grid + dx))
        selectedPatch = r * grid + c
        return [.redraw]
    }

    /// Whether the method on screen plans from scores (the prune, plan-source, grouping and
    /// recovery keys are for it).
    var plans: Bool { method.method.plansFromScores }

    /// The planning method's name, for messages about its keys.
    static var plannerTitle: String { Method.planner?.rawValue ?? "the plan" }

    /// What the keys have set, as the methods read it.
    public var knobs: ExplorerKnobs {
        ExplorerKnobs(keep: keep, prune: prune, grouping: grouping, recovery: recovery, planSource: scoreSource.rawValue,
                      planFromFile: scoreSource == .file, arguments: methodArguments)
    }

    /// `g` (grouping) and `u` (recovery): they shape plans made from scores. A PM file's plan has its
    /// own, and ToMe and EViT have neither.
    mutating func togglePlanMode(_ key: Key) -> [Effect] {
        let what = key == .char("g") ? "grouping" : "recovery"
        guard plans else {
            status = "\(what) is \(Self.plannerTitle)'s (m switches method)"
            return [.redraw]
        }
        guard scoreSource != .file else {
            status = "the PM file fixes its \(what); s: plan from scores, where g and u apply"
            return [.redraw]
        }
        if key == .char("g") {
            grouping = grouping == .grid ? .official : .grid
            status = grouping == .grid ? "grouping grid: groups stay inside one grid row"
                : "grouping official: as the official code (groups can wrap into the next row)"
        } else {
            recovery = recovery == .update ? .official : .update
            status = recovery == .update ? "recovery update: tokens keep their own features, the block's update is added"
                : "recovery official: kept tokens are replaced by recover @ block output"
        }
        return [.recompute]
    }

    /// Keep ratio in [0.05, 0.95], never above 1 - prune (the prune rate gives way).
    mutating func setKeep(_ v: Double) -> [Effect] {
        let k = (max(0.05, min(0.95, v)) * 100).rounded() / 100
        guard k != keep else { return [] }
        keep = k
        methodArguments = methodArguments.budgetCleared
        if keep + prune > 1 { prune = ((1 - keep) * 100).rounded() / 100 }
        return [.recompute]
    }

    /// Prune rate in [0, 0.9], never above 1 - keep.
    mutating func setPrune(_ v: Double) -> [Effect] {
        let p = (max(0, min(min(0.9, 1 - keep), v)) * 100).rounded() / 100
        guard p != prune else { return [] }
        prune = p
        return [.recompute]
    }

    /// The key help, in the order the overlay and the footer show it.
    public static var keyHelp: [(keys: String, what: String)] { [
        ("←/→ h/l", "previous / next layer (Home/End: first/last)"),
        ("↑/↓ k/j", "keep ratio +/- 0.05"),
        ("[ ]", "prune rate +/- 0.05"),
        ("v Tab", "next view: states, scores, groups, restore error"),
        ("1 2 3", "layout: one layer / all layers / methods side by side"),
        ("s", "plan source: PM file / calibrated ranks / this image (live)"),
        ("g u", "grouping grid / official, recovery update / official"),
        ("m", "method: " + Method.allCases.map(\.rawValue).joined(separator: ", ")),
        ("n p", "next / previous image"),
        ("e", "export the patch maps of all layers as text"),
        ("r", "reset"),
        ("H J K L", "patch cursor (Shift+arrows, click): a patch in every layer"),
        ("t", "state glyphs over the picture: auto, on, off"),
        ("?", "this help (Esc or ? closes it)"),
        ("q", "quit    Ctrl-L: redraw"),
    ] }
}
