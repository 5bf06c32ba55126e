import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The one place that talks to OpenBLAS: start-up kernel selection, thread count, and `sgemm`.
///
/// Why the start-up step exists: Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls
/// back to its SSE3 "Prescott" kernels (about 30 GFLOP/s instead of 110-155 per thread). The library
/// picks its kernels in a constructor that runs before `main`, so setting `OPENBLAS_CORETYPE` later is
/// too late; instead we shut it down, set the variable and start it again (`gotoblas_quit`/`init`,
/// both exported by libopenblas.so.0). Only when it is safe: the user did not choose a core, the
/// library really reports Prescott, and /proc/cpuinfo lists every flag the forced kernel needs
/// (forcing an ISA the CPU lacks would crash with SIGILL).
public enum BLAS {
    public struct Status: Sendable {
        /// Kernel family OpenBLAS uses now, e.g. "SkylakeX".
        public var core: String
        /// What `configure()` did, e.g. "Prescott -> SkylakeX (forced)".
        public var note: String
        /// Threads OpenBLAS may use inside one GEMM.
        public var threads: Int
        public var config: String
    }

    nonisolated(unsafe) private static var configured: Status?

    /// Idempotent; call once from the main thread before any BLAS work (the CLI does it first thing).
    @discardableResult
    public static func configure() -> Status {
        if let s = configured { return s }
        let before = coreName()
        var note = before
        if before.lowercased() == "prescott", getenv("OPENBLAS_CORETYPE") == nil {
            let flags = cpuFlags()
            let target: String?
            if ["avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
                target = "SkylakeX"
            } else if ["avx2", "fma", "avx"].allSatisfy(flags.contains) {
                target = "Haswell"
            } else {
                target = nil
            }
            if let target {
                gotoblas_quit()
                setenv("OPENBLAS_CORETYPE", target, 1)
                gotoblas_init()
                note = "\(before) -> \(coreName()) (re-initialised: OpenBLAS 0.3.21 did not recognise this CPU)"
            } else {
                note = "\(before) (no AVX2: kept)"
            }
        } else if getenv("OPENBLAS_CORETYPE") != nil {
            note = "\(before) (OPENBLAS_CORETYPE set by the user)"
        }
        let s = Status(core: coreName(), note: note, threads: Int(openblas_get_num_threads()),
                       config: openblas_get_config().map { String(cString: $0) } ?? "")
        configured = s
        return s
    }

    public static func coreName() -> String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads one GEMM may use. The engine runs its own workers over rows or heads and calls a
    /// 1-thread GEMM inside each (never 2-thread BLAS inside 2 workers: 4 threads on 2 cores).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Called by every engine pass before its first GEMM. The engine runs its own workers over rows,
    /// heads or images and calls a 1-thread GEMM inside each: 2-thread BLAS inside 2 workers puts 4
    /// threads on 2 cores, and with a single worker the caller asked for one core (`--threads 1`, e.g.
    /// two fine-tunes side by side), which a 2-thread GEMM would overrun.
    public static func useOneThreadPerWorker() {
        if threads != 1 { threads = 1 }
    }

    static func cpuFlags() -> Set<String> {
        guard let f = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0 {
            guard let line else { break }
            let s = String(cString: line)
            if s.hasPrefix("flags") {
                if let colon = s.firstIndex(of: ":") {
                    return Set(s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
                }
            }
        }
        return []
    }

    // MARK: - GEMM (row-major). Weights stay in PyTorch [out, in] layout: use transB = true.

    /// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major.
    /// op(A) is [M,K] (A stored [M,K], or [K,M] when transA); op(B) is [K,N] (B stored [K,N], or [N,K] when transB).
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }
}
