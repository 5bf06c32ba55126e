import Foundation
import Synchronization

/// Splits `0..<count` into `workers` contiguous chunks and runs them at once (ggml style: one
/// chunk per core, not one task per row). BLAS calls made inside a chunk must run on one BLAS
/// thread; the engine sets that.
///
/// Why not `DispatchQueue.concurrentPerform`: a ViT forward pass synchronises 3 times per block
/// (about 40 times per image), and every Dispatch round trip parks and wakes a thread (measured
/// here at batch 1: 78 context switches per forward pass and 1.68 of 2 cores busy). The pool below
/// keeps its threads spinning for a short while after each job, the way OpenBLAS and ONNX Runtime
/// do, so the next phase starts within a microsecond; idle threads go to sleep after ~200 µs.
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
            SpinPool.shared.run(workers: w) { i in
                let lo = count * i / w, hi = count * (i + 1) / w
                if lo < hi { body(i, lo..<hi) }
            }
        }
    }
}

/// A small pool of threads that run one job at a time: job i of `workers` goes to thread i (the
/// caller is 0). Threads spin on a generation counter after each job, then block on a condition
/// variable. Jobs must not nest (the engine never nests them).
final class SpinPool: @unchecked Sendable {
    static let shared = SpinPool(threads: max(1, CPUPlacement.usableCount - 1))

    private let generation = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    /// The current job and its width; written by the caller before the generation is bumped
    /// (release) and read by the threads after they see it (acquire).
    private var job: ((Int) -> Void)?
    private var width = 0
    private let threads: Int
    private let lock = NSLock()

    init(threads: Int) {
        self.threads = threads
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for i in 0..<threads {
            let t = Thread { [unowned self] in self.loop(index: i + 1) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs body(0) on the caller and body(1..<workers) on pool threads; returns when all are done.
    /// More workers than threads + 1 run their extra indices on the caller.
    func run(workers: Int, _ body: (Int) -> Void) {
        lock.lock()  // one job at a time, even if two callers race
        defer { lock.unlock() }
        let helpers = min(workers - 1, threads)
        withoutActuallyEscaping(body) { body in
            job = body
            width = helpers
            done.store(0, ordering: .relaxed)
            // Sequentially consistent store-then-load, mirrored in `loop`, so that a thread going to
            // sleep and a job being posted cannot miss each other.
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&cond)
                pthread_mutex_unlock(&mutex)
            }
            body(0)
            for extra in (helpers + 1)..<max(workers, helpers + 1) { body(extra) }
            var spins = 0
            while done.load(ordering: .acquiring) < helpers {
                spins += 1
                if spins > 1 << 16 { sched_yield() }
            }
            job = nil
        }
    }

    private func loop(index: Int) {
        // Generation 0 is "no job yet": a job posted before this thread got to run is still seen.
        var seen = 0
        while true {
            var spins = 0
            var now = generation.load(ordering: .acquiring)
            // Spin ~200 µs (a load and a pause per turn), then sleep until the next job.
            while now == seen && spins < 100_000 {
                spins += 1
                now = generation.load(ordering: .acquiring)
            }
            if now == seen {
                pthread_mutex_lock(&mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(&cond, &mutex) }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
                now = generation.load(ordering: .acquiring)
            }
            seen = now
            // Only this job's participants report; the caller waits for exactly `width` of them.
            if index <= width {
                job?(index)
                done.add(1, ordering: .releasing)
            }
        }
    }
}
