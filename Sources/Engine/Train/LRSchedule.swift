import RealModule

/// Learning rate per optimiser step: linear warm-up to `peak`, then half a cosine down to `minLR`.
///
/// Convention: `step` is the 0-based index of the update about to be made (the number of updates
/// already done), W = warmupSteps, T = totalSteps:
///
///     step < 0          → treated as 0
///     step ≥ T          → minLR                                  (clamped; also wins over warm-up)
///     step < W          → peak · (step + 1) / W                  step 0: peak/W, step W−1: peak
///     otherwise         → minLR + (peak − minLR) · ½ (1 + cos(π (step − W) / (T − W)))
///                                                                step W: peak, halfway: mean of the two
///
/// Why (step + 1): the first update already moves the weights, so it gets a non-zero rate (HF's
/// `get_cosine_schedule_with_warmup` gives step 0 a zero rate, a wasted update). The cosine reaches
/// `minLR` at step T, one past the last update of a T-step run, so with minLR = 0 the last update
/// still gets a small positive rate. Computed in Double, returned as Float.
/// (The reference PyTorch run used OneCycleLR, which differs: it warms up along a cosine from
/// peak/25 and ends at peak/1e4.)
public struct LRSchedule: Sendable, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minLR: Float

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, minLR: Float = 0) {
        self.peak = peak
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(0, totalSteps)
        self.minLR = minLR
    }

    public func lr(at step: Int) -> Float {
        let s = max(step, 0)
        if s >= totalSteps { return minLR }
        if s < warmupSteps { return Float(Double(peak) * Double(s + 1) / Double(warmupSteps)) }
        let progress = Double(s - warmupSteps) / Double(totalSteps - warmupSteps)
        let cosine = 0.5 * (1 + Double.cos(Double.pi * progress))
        return Float(Double(minLR) + (Double(peak) - Double(minLR)) * cosine)
    }
}
