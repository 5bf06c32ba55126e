import Compression
import Engine
import Explorer
import Foundation

/// `bench --explorer`: what a key press costs in the explorer, measured without a terminal. Replays
/// a fixed key sequence through the state reducer; every key that asks for a recompute runs the
/// full analysis (live forward + backward scores, plan, dense and compressed passes, restore errors)
/// and every key redraws an 80x24 cell buffer. Reports the mean, the worst and the median per key.
enum ExplorerBench {
    static let keys: [ExplorerState.Key] = [.right, .right, .up, .up, .down, .char("["), .char("]"), .char("s"), .char("n"),
                                            .tab, .left, .down, .char("p"), .char("s"), .end, .home, .char("m"), .up, .char("m"),
                                            .down, .char("m")]

    static func run(model m: ViTModel, modelName: String, threads: Int, json: Bool) throws {
        let c = m.config
        // Two fixed random images (the shipped samples if the model takes them would do as well).
        let per = c.channels * c.imageSize * c.imageSize
        let images = (0..<2).map { i -> ExplorerImage in
            let x = Array(BenchRunner.randomInput(count: per * (i + 1)).suffix(per))
            return ExplorerImage(name: "random-\(i)", label: nil, input: x,
                                 pixels: ExplorerImage.pixels(fromInput: x, channels: c.channels, size: c.imageSize,
                                                              mean: m.preprocessing.mean, std: m.preprocessing.std), size: c.imageSize)
        }
        var rng = SplitMix64(seed: 1)
        let ranks = (0..<c.depth).map { _ in (0..<c.numPatches).map { _ in Double(rng.nextUniform()) } }
        let engine = ExplorerEngine(model: m, ranks: ranks, images: images, classNames: (0..<c.numClasses).map { "class \($0)" }, workers: threads)
        let renderer = Renderer(modelName: modelName, config: c, classNames: [], options: .init(color: .c256, unicode: true))
        var state = ExplorerState(depth: c.depth, imageCount: images.count, hasCalibratedRanks: true)
        var current = try engine.analyse(state)  // warm-up
        var times: [Double] = []
        for _ in 0..<3 {
            for k in keys {
                let t0 = Clock.now()
                if state.handle(k).contains(.recompute) { current = try engine.analyse(state) }
                _ = renderer.render(state, analysis: current, image: images[state.image], computing: false, width: 80, height: 24)
                times.append((Clock.now() - t0) * 1000)
            }
        }
        let sorted = times.sorted()
        let mean = times.reduce(0, +) / Double(times.count)
        if json {
            print(try jsonLine(["work": "explorer", "keys": times.count, "ms_per_key_mean": round3(mean), "ms_per_key_median": round3(sorted[sorted.count / 2]),
                                "ms_per_key_max": round3(sorted.last ?? 0), "threads": threads, "model": modelName]))
        } else {
            print("explorer   \(times.count) key presses replayed on \(modelName) (80x24, 256 colours)")
            print(String(format: "per key    mean %.1f ms   median %.1f ms   worst %.1f ms", mean, sorted[sorted.count / 2], sorted.last ?? 0))
        }
    }
}
