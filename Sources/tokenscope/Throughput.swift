import Compression
import Engine

/// A model's forward-pass images/s at batch 1 and at batch 32, as `table` and `compare` measure
/// them side by side.
struct Throughput {
    var b1 = 0.0, b32 = 0.0

    /// Every model measured in `rounds` interleaved rounds (model 1 b1, b32, model 2 b1, b32, ...,
    /// then again), each speed the best of its rounds. On a shared 2-vCPU machine a background burst
    /// can slow one measurement by a third; with one round, a burst on the reference inflated every
    /// speed-up of a `compare` run (dense at 104 images/s against 150 in other runs).
    static func measure(_ models: [AnyModel], seconds: Double, rounds: Int, threads: Int) -> [Throughput] {
        var best = [Throughput](repeating: Throughput(), count: models.count)
        for _ in 0..<max(rounds, 1) {
            for (k, any) in models.enumerated() {
                best[k].b1 = max(best[k].b1, imagesPerSecond(any, batch: 1, seconds: seconds, threads: threads))
                best[k].b32 = max(best[k].b32, imagesPerSecond(any, batch: 32, seconds: seconds, threads: threads))
            }
        }
        return best
    }

    /// Images/s at one batch size, on a fixed random input after a warm-up.
    static func imagesPerSecond(_ any: AnyModel, batch b: Int, seconds: Double, threads: Int) -> Double {
        let c = any.vit.config
        let runner = any.runner(batch: b)
        let input = BenchRunner.randomInput(count: b * c.channels * c.imageSize * c.imageSize)
        let r = input.withUnsafeBufferPointer { x in
            BenchRunner.measure(batch: b, seconds: seconds) { runner.forward(images: x.baseAddress!, batch: b, workers: threads) }
        }
        return r.imagesPerSecond
    }
}
