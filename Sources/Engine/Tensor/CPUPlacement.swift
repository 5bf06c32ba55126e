import CDNNL
import Foundation

/// Which CPUs the engine's workers run on.
///
/// `usableCount` is what the process may use: its affinity mask (a `taskset` or a container's
/// cpuset), which Foundation's `activeProcessorCount` ignores (measured: 2 under `taskset -c 1`,
/// and two workers then share one core).
///
/// GNU OpenMP's placement variables, and why TokenScope undoes what they do to its first thread:
/// libgomp reads `OMP_PROC_BIND`, `OMP_PLACES` and `GOMP_CPU_AFFINITY` when it loads, before `main`,
/// and pins the process's first thread to the first place (measured here: with any of them set,
/// every thread of `tokenscope bench` ran on CPU 0, and the pin survives `exec`). The engine's
/// workers are threads of its own, which inherit that pin, so two workers would share one core at
/// half the speed. oneDNN runs one OpenMP thread per calling thread here (see `BLAS`), so there is
/// nothing for OpenMP to place: the first thread gets back every CPU of every place (the CPUs the
/// process may use, within any `taskset`), before the workers start.
public enum CPUPlacement {
    /// CPUs the calling thread may run on (at least 1).
    public static var usableCount: Int {
        let n = Int(ts_thread_cpu_count())
        return n > 0 ? n : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    public static let openMPVariables = ["OMP_PROC_BIND", "OMP_PLACES", "GOMP_CPU_AFFINITY"]

    /// Widens the calling thread's affinity to the union of OpenMP's places when a placement
    /// variable is set; call it first thing, before any worker starts. Returns the CPUs it allowed
    /// (nil: nothing to undo, or the call failed). `GOMP_CPU_AFFINITY` lists CPUs itself: its list
    /// is what the process gets.
    @discardableResult
    public static func undoOpenMPPin() -> [Int]? {
        let env = ProcessInfo.processInfo.environment
        guard openMPVariables.contains(where: { env[$0] != nil }) else { return nil }
        var cpus = Set<Int>()
        for place in 0..<Int(omp_get_num_places()) {
            let n = Int(omp_get_place_num_procs(Int32(place)))
            guard n > 0 else { continue }
            var ids = [Int32](repeating: 0, count: n)
            omp_get_place_proc_ids(Int32(place), &ids)
            cpus.formUnion(ids.map(Int.init))
        }
        let allowed = cpus.filter { $0 >= 0 }.sorted().map(Int32.init)
        guard !allowed.isEmpty else { return nil }
        return ts_set_thread_cpus(allowed, Int32(allowed.count)) == 0 ? allowed.map(Int.init) : nil
    }
}
