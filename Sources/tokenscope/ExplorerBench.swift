import Compression
import Engine
import Explorer
import Foundation

/// `bench --explorer`: what a key press costs in the explorer, measured without a terminal. Replays
/// a fixed key sequence through the state reducer; after each key every analysis the screen needs
/// and does not have yet is computed (`AnalysisStore`, as the explorer keeps them: settings seen
/// before cost nothing; the methods layout needs all three methods) and an 80x24 cell buffer is drawn.
///
/// Between two keys the explorer prepares the next and the previous image in the background while
/// the user looks (`ExplorerEngine.prepare(image:)`: their live scores and dense pass); the bench
/// models that idle time by preparing both after each key, off the clock. Keys of a burst (n held
/// down) get no idle time, which is when an image's own passes land on a key.
///
/// Each key is classed by what it cost: navigation (redraw only), revisit (a recompute whose
/// analyses were kept from before), plan change (a recompute on an image the engine held: plan and
/// compressed passes) and live (a recompute that had to run the image's dense and score passes),
/// told by the engine's pass counters. Reports the mean and the
/// worst per class and overall, and the overall figures of the first 63 keys alone: the replay
/// earlier versions timed (every recompute then ran all three passes).
enum ExplorerBench {
    /// The original replay: three rounds of these come first, unchanged, so `replay63` compares
    /// with earlier versions' figures.
    static let keys: [ExplorerState.Key] = [.right, .right, .up, .up, .down, .char("["), .char("]"), .char("s"), .char("n"),
                                            .tab, .left, .down, .char("p"), .char("s"), .end, .home, .char("m"), .up, .char("m"),
                                            .down, .char("m")]

    /// After the replay: more navigation, plan changes (keep, prune, grouping, recovery, methods),
    /// live scores as the plan source, and n and p in bursts. `idle`: whether the user pauses after
    /// the key (the engine prepares the neighbours then).
    static let more: [(key: ExplorerState.Key, idle: Bool)] =
        ([.right, .right, .right, .left, .tab, .tab, .tab, .tab, .end, .home, .right, .left] as [ExplorerState.Key]).map { ($0, true) } +
        ([.up, .up, .down, .char("["), .char("]"), .char("g"), .char("u"), .char("g"), .char("u"), .char("m"), .down, .char("m"), .up,
          .char("m"), .char("s"), .up, .down, .char("g"), .char("g")] as [ExplorerState.Key]).map { ($0, true) } +
        [(.char("n"), false), (.char("n"), false), (.char("n"), false), (.char("n"), true),
         (.char("p"), false), (.char("p"), false), (.char("p"), false), (.char("p"), true),
         (.char("s"), true), (.right, true), (.char("r"), true)] +
        // The layouts, the methods side by side at a new keep ratio, glyphs and the patch cursor.
        ([.char("2"), .right, .right, .end, .char("3"), .left, .up, .char("1"), .char("t"), .char("L"), .shiftDown, .char("H"),
          .char("K"), .escape, .char("t"), .char("t"), .char("2"), .char("v"), .char("1")] as [ExplorerState.Key]).map { ($0, true) }

    /// Images in the replay: enough that a burst of n reaches images nobody prepared.
    static let imageCount = 8

    enum Cost: String, CaseIterable {
        /// A key that only redraws.
        case navigation
        /// A recompute whose analyses were all kept from before (settings seen already).
        case revisit
        /// A recompute on an image the engine held: planner and compressed passes.
        case plan
        /// A recompute that had to run the image's dense and score passes.
        case live
    }

    static func run(model m: ViTModel, modelName: String, threads: Int, json: Bool) throws {
        let c = m.config
        // Fixed random images (the shipped samples if the model takes them would do as well); the
        // first two are the ones earlier versions replayed on.
        let per = c.channels * c.imageSize * c.imageSize
        let images = (0..<imageCount).map { i -> ExplorerImage in
            let x = Array(BenchRunner.randomInput(count: per * (i + 1)).suffix(per))
            return ExplorerImage(name: "random-\(i)", label: nil, input: x,
                                 pixels: ExplorerImage.pixels(fromInput: x, channels: c.channels, size: c.imageSize,
                                                              mean: m.preprocessing.mean, std: m.preprocessing.std), size: c.imageSize)
        }
        var rng = SplitMix64(seed: 1)
        let ranks = (0..<c.depth).map { _ in (0..<c.numPatches).map { _ in Double(rng.nextUniform()) } }
        let engine = ExplorerEngine(model: m, ranks: ranks, images: images, classNames: (0..<c.numClasses).map { "class \($0)" }, workers: threads)
        let renderer = Renderer(modelName: modelName, config: c, classNames: [], options: .init(color: .c256, unicode: true))
        var state = ExplorerState(depth: c.depth, grid: c.grid, imageCount: images.count, hasCalibratedRanks: true)
        var store = AnalysisStore()
        func frame() {
            _ = renderer.render(state, analysis: store.analysis(for: state), methods: store.methodAnalyses(for: state),
                                image: images[state.image], computing: false, width: 80, height: 24)
        }
        // Warm-up: the first frame, drawn before any key.
        try store.fill(for: state, using: engine)
        frame()
        func idle() {
            engine.prepare(image: (state.image + 1) % images.count)
            engine.prepare(image: (state.image - 1 + images.count) % images.count)
        }
        idle()
        var times: [Double] = [], costs: [Cost] = []
        let replay = Array(repeating: keys.map { (key: $0, idle: true) }, count: 3).joined()
        for (k, pause) in replay + more {
            let before = engine.passes
            let t0 = Clock.now()
            let recompute = state.handle(k).contains(.recompute)
            try store.fill(for: state, using: engine)
            frame()
            times.append((Clock.now() - t0) * 1000)
            let after = engine.passes
            costs.append(!recompute ? .navigation : after.scores > before.scores ? .live : after.compressed > before.compressed ? .plan : .revisit)
            if pause { idle() }
        }
        let replayCount = 3 * keys.count
        let overall = Summary(times), first = Summary(Array(times.prefix(replayCount)))
        let perClass = Cost.allCases.map { cost in (cost, Summary(zip(times, costs).filter { $0.1 == cost }.map(\.0))) }
        if json {
            var fields: [String: Any] = ["work": "explorer", "keys": times.count, "ms_per_key_mean": round3(overall.mean),
                                         "ms_per_key_median": round3(overall.median), "ms_per_key_max": round3(overall.max),
                                         "replay63_ms_mean": round3(first.mean), "replay63_ms_max": round3(first.max),
                                         "prepared_between_keys": "next and previous image, untimed",
                                         "threads": threads, "model": modelName]
            for (cost, s) in perClass {
                fields["\(cost.rawValue)_keys"] = s.count
                fields["\(cost.rawValue)_ms_mean"] = round3(s.mean)
                fields["\(cost.rawValue)_ms_max"] = round3(s.max)
            }
            print(try jsonLine(fields))
        } else {
            print("explorer   \(times.count) key presses replayed on \(modelName) (80x24, 256 colours; next and previous image prepared between keys, untimed)")
            print(String(format: "per key    mean %.1f ms   median %.1f ms   worst %.1f ms   (first %d keys, the earlier replay: mean %.1f ms, worst %.1f ms)",
                         overall.mean, overall.median, overall.max, replayCount, first.mean, first.max))
            let labels: [Cost: String] = [.navigation: "navigation (redraw only)", .revisit: "plan change, seen before (kept)",
                                          .plan: "plan change (image held)", .live: "live (image's dense + score passes)"]
            for (cost, s) in perClass {
                let name = (labels[cost] ?? cost.rawValue).padding(toLength: 36, withPad: " ", startingAt: 0)
                print("  " + name + String(format: " %3d keys   mean %.1f ms   worst %.1f ms", s.count, s.mean, s.max))
            }
        }
    }

    /// Mean, median and worst of some per-key times (all 0 for none).
    struct Summary {
        var count: Int, mean: Double, median: Double, max: Double
        init(_ times: [Double]) {
            let sorted = times.sorted()
            count = times.count
            mean = times.isEmpty ? 0 : times.reduce(0, +) / Double(times.count)
            median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            max = sorted.last ?? 0
        }
    }
}
