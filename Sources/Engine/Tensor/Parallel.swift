import Dispatch

/// Splits `0..<count` into `workers` contiguous chunks and runs them at once (ggml style: one
/// chunk per core, not one task per row, because each dispatch costs about a microsecond).
/// BLAS calls made inside a chunk must run on one BLAS thread; the engine sets that once.
public enum Parallel {
    public static func chunks(_ count: Int, workers: Int, _ body: (Range<Int>) -> Void) {
        indexedChunks(count, workers: workers) { _, r in body(r) }
    }

    /// As `chunks`, also passing the worker's index (0..<workers) so it can use its own scratch.
    public static func indexedChunks(_ count: Int, workers: Int, _ body: (Int, Range<Int>) -> Void) {
        let w = max(1, min(workers, count))
        if w == 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: w) { i in
                let lo = count * i / w, hi = count * (i + 1) / w
                if lo < hi { box.value(i, lo..<hi) }
            }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`. Safe because `Parallel.chunks` waits
/// for every chunk before returning and chunks touch disjoint data.
struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
