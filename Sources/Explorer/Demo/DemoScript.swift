/// The demo's script: a fixed loop of key presses, each with a caption saying what is on screen.
/// It walks the layers, sweeps the keep ratio and the prune rate, cycles the views, shows official
/// recovery beside TokenScope's, shows every layer at once, switches the score source and the
/// method (the methods side by side) when there is more than one, then moves to the next image. Pure
/// data: the same model and images give the same script, which is what the tests check.
public struct DemoScript: Sendable {
    public struct Step: Sendable, Equatable {
        public var key: ExplorerState.Key
        public var caption: String
    }

    public let steps: [Step]

    /// `startsOnFilePlan`: the session shows a PM file's own plan first (`--pm`), where keep and prune
    /// do not apply, so the script switches to planning from scores before its sweeps.
    public init(depth: Int, imageCount: Int, sources: Int, methods: Int, startsOnFilePlan: Bool = false) {
        var s: [Step] = []
        func add(_ k: ExplorerState.Key, _ c: String) { s.append(Step(key: k, caption: c)) }
        let switchFirst = startsOnFilePlan && sources > 1
        add(.home, "tint: merged group (brighter: its center), dark: skips, plain: own token")
        for l in 1..<max(1, depth) {
            add(.right, "layer \(l + 1) of \(depth): a plan per block; the table: tokens in > run > out")
        }
        add(.home, "back to layer 1")
        if switchFirst { add(.char("s"), "plan from scores now (the PM file's plan is fixed): keep and prune apply") }
        for _ in 0..<4 { add(.down, "keep ratio down: fewer group centers, bigger groups, fewer GFLOPs") }
        for _ in 0..<4 { add(.up, "keep ratio back up: more centers, closer to the dense model") }
        for _ in 0..<2 { add(.char("["), "prune rate up: more tokens skip the block through the shortcut") }
        for _ in 0..<2 { add(.char("]"), "prune rate back down") }
        add(.tab, "view: live gradient-weighted scores (forward + backward on this image)")
        add(.right, "scores change from layer to layer: what each block attends to")
        add(.tab, "view: group map, one colour per group")
        add(.tab, "view: restore error, how far each restored token is from the dense one")
        add(.end, "restore error at the last layer: what compression costs at the output")
        add(.char("u"), "official recovery: kept tokens replaced by their group's projection")
        add(.char("u"), "update recovery again: every token keeps its own features")
        add(.tab, "view: patch states again")
        add(.home, "layer 1")
        if sources > 1 {
            // Every source once, ending where the loop began.
            add(.char("s"), "plan source: static (calibrated) or adaptive (this image's live scores)")
            for _ in 1..<(switchFirst ? sources - 1 : sources) { add(.char("s"), "plan source switched") }
        }
        add(.char("2"), "every layer at once: which tokens each block prunes and merges")
        add(.end, "the last layer selected: the label marks it, the counts are tokens run")
        add(.home, "layer 1")
        add(.char("1"), "one layer again, with the panel")
        if methods > 1 {
            add(.char("3"), "methods side by side: same image and keep, their tokens run and GFLOPs")
            for _ in 1..<methods { add(.char("m"), "method switched: the same image under another token-reduction method") }
            add(.char("m"), "back to Prune and Merge")
            add(.char("1"), "one layer again")
        }
        if imageCount > 1 { add(.char("n"), "next image") }
        steps = s
    }
}

/// Plays a `DemoScript` against the explorer's key loop: one step per interval, never while a
/// recompute is running (so every step is seen), until a key pauses it.
public struct DemoPlayer: Sendable {
    public let script: DemoScript
    /// Seconds between steps.
    public let interval: Double
    public private(set) var index = 0
    public private(set) var paused = false
    public private(set) var caption = ""
    private var next: Double

    public init(script: DemoScript, interval: Double, start: Double) {
        self.script = script
        self.interval = interval
        next = start + interval
    }

    /// The key to apply now, if the time has come and the explorer is idle.
    public mutating func tick(now: Double, busy: Bool) -> ExplorerState.Key? {
        guard !paused, !busy, now >= next, !script.steps.isEmpty else { return nil }
        let step = script.steps[index]
        index = (index + 1) % script.steps.count
        next = now + interval
        caption = step.caption
        return step.key
    }

    /// A key from the user: the demo stops and hands over the controls; from then on the status
    /// line is the explorer's again (messages, "computing...").
    public mutating func pause() {
        paused = true
        caption = ""
    }

    /// The caption line while playing; nil once paused.
    public var shownCaption: String? { paused ? nil : caption }

    public static let pausedMessage = "demo paused: you have the controls (? help, q quit)"
}
