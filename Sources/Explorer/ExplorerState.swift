import Compression

/// Everything the explorer shows that the user chooses, and how keys change it: a pure reducer
/// (state + key -> state + effects), tested without a terminal.
public struct ExplorerState: Equatable, Sendable {
    public enum View: String, CaseIterable, Sendable {
        case states, scores, groups, restoreError = "restore error"
    }
    public enum ScoreSource: String, Sendable {
        /// The model's static plan from calibrated ranks, as the paper does.
        case calibrated
        /// Live forward + backward on the image on screen: an adaptive plan for this image.
        case image
        /// The plan stored in a Prune and Merge file (`--pm`), possibly fine-tuned: fixed.
        case file
    }
    public enum Method: String, CaseIterable, Sendable {
        case pruneMerge = "Prune and Merge"
        /// ToMe (training-free): keep sets r so the mean token count over the blocks is about keep x tokens.
        case tome = "ToMe"
        /// EViT (training-free): keep is its keep rate at blocks 3, 6, 9 (depth quarters).
        case evit = "EViT"
    }

    public var layer = 0
    public var keep = 0.7
    public var prune = 0.1
    public var view: View = .states
    public var scoreSource: ScoreSource = .calibrated
    public var method: Method = .pruneMerge
    /// How Prune and Merge plans made from scores group their kept tokens (`g` toggles): `grid` keeps
    /// groups inside a grid row, `official` reproduces the official code, its row quirk included.
    public var grouping: PMPlanner.Grouping = .grid
    /// How compressed blocks restore the grid (`u` toggles): `update` keeps every token's own
    /// features, `official` replaces kept tokens by recover @ block output (README, "Recovery").
    public var recovery: PMRecovery = .update
    public var image = 0
    public var showHelp = false
    /// The patch clicked with the mouse (row-major, from 0): the panel shows its state, group,
    /// center and score in every layer. Esc clears it.
    public var selectedPatch: Int?
    /// ToMe's r when fixed from the command line (`--r`); nil: derived from the keep ratio. The keep
    /// keys clear it.
    public var tomeR: Int?
    /// EViT's reducing blocks (0-based) from the command line; nil: EViT's default.
    public var evitBlocks: [Int]?
    public var quit = false
    /// One-line message for the status bar.
    public var status = ""

    public let depth: Int
    public let imageCount: Int
    /// Whether calibrated ranks exist; without them the score source stays `image`.
    public let hasCalibratedRanks: Bool
    /// Whether a Prune and Merge file's own plan is available (`--pm`).
    public let hasFilePlan: Bool
    let initial: (keep: Double, prune: Double, grouping: PMPlanner.Grouping, recovery: PMRecovery)

    public init(depth: Int, imageCount: Int, hasCalibratedRanks: Bool, hasFilePlan: Bool = false, keep: Double = 0.7, prune: Double = 0.1,
                grouping: PMPlanner.Grouping = .grid, recovery: PMRecovery = .update) {
        self.depth = max(1, depth)
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
            a.selectedPatch == b.selectedPatch && a.tomeR == b.tomeR && a.evitBlocks == b.evitBlocks &&
            a.grouping == b.grouping && a.recovery == b.recovery
    }

    public enum Key: Equatable, Sendable {
        case left, right, up, down, home, end, tab, escape, ctrlL, resize
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

    /// Applies one key. Keys other than Esc, ? and q are ignored while help is open.
    public mutating func handle(_ key: Key) -> [Effect] {
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
        case .char("]") where method != .pruneMerge, .char("[") where method != .pruneMerge:
            status = "the prune rate is Prune and Merge's; \(method.rawValue) follows the keep ratio (up/down)"
            return [.redraw]
        case .up, .char("k"), .down, .char("j"), .char("]"), .char("["):
            if scoreSource == .file && method == .pruneMerge {
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
            if method != .pruneMerge { status = "plan source \(scoreSource.rawValue): used by Prune and Merge (m switches method)" }
            return [.recompute]
        case .char("m"):
            let all = Method.allCases
            method = all[((all.firstIndex(of: method) ?? 0) + 1) % all.count]
            return [.recompute]
        case .char("g"), .char("u"): return togglePlanMode(key)
        case .char("n"): image = (image + 1) % imageCount; return [.recompute]
        case .char("p"): image = (image - 1 + imageCount) % imageCount; return [.recompute]
        case .char("e"): return [.export]
        case .char("r"):
            layer = 0; keep = initial.keep; prune = initial.prune; grouping = initial.grouping; recovery = initial.recovery; view = .states; method = .pruneMerge; selectedPatch = nil
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

    /// The Prune and Merge settings of a plan made from scores, as the analysis and the exports name them.
    public var planSettings: [(key: String, value: String)] {
        [("keep", PatchMap.fixed(keep, 2)), ("prune", PatchMap.fixed(prune, 2)), ("grouping", grouping.rawValue),
         ("recovery", recovery.rawValue), ("scores", scoreSource.rawValue)]
    }

    /// `g` (grouping) and `u` (recovery): they shape plans made from scores. A PM file's plan has its
    /// own, and ToMe and EViT have neither.
    mutating func togglePlanMode(_ key: Key) -> [Effect] {
        let what = key == .char("g") ? "grouping" : "recovery"
        guard method == .pruneMerge else {
            status = "\(what) is Prune and Merge's (m switches method)"
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
        tomeR = nil
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
    public static let keyHelp: [(keys: String, what: String)] = [
        ("←/→ h/l", "previous / next layer (Home/End: first/last)"),
        ("↑/↓ k/j", "keep ratio +/- 0.05"),
        ("[ ]", "prune rate +/- 0.05"),
        ("v Tab", "next view: states, scores, groups, restore error"),
        ("s", "plan source: PM file / calibrated ranks / this image (live)"),
        ("g u", "grouping grid / official, recovery update / official"),
        ("m", "method: Prune and Merge, ToMe, EViT (same keep ratio)"),
        ("n p", "next / previous image"),
        ("e", "export the patch maps of all layers as text"),
        ("r", "reset"),
        ("click", "a patch: its state, group and score per layer (Esc clears)"),
        ("?", "this help (Esc or ? closes it)"),
        ("q", "quit    Ctrl-L: redraw"),
    ]
}
