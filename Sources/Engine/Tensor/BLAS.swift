import CDNNL

/// The one place that does matrix products: oneDNN's `dnnl_sgemm`, one thread per call.
///
/// Why oneDNN: it picks its JIT kernels from CPUID on any vendor (AVX-512 where the CPU has it),
/// so the speed does not depend on a BLAS library recognising the CPU or on `OPENBLAS_CORETYPE`
/// (Debian's OpenBLAS 0.3.21 knows no Zen 5 and, with the Haswell kernels that variable selects on
/// these machines, ran the model's GEMMs at half the machine's width: about 105 GFLOP/s a core
/// against oneDNN's 190-220 on the same shapes).
///
/// Why one thread per call: the engine runs its own workers over rows, heads or images and calls a
/// GEMM inside each. oneDNN parallelises with GNU OpenMP, whose team size is per calling thread;
/// `sgemm` keeps the caller's at 1, so two workers never start two more threads each.
public enum BLAS {
    public struct Status: Sendable {
        /// The kernels in use, e.g. "oneDNN 2.6.3 avx512_core".
        public var core: String
        /// What the library found, e.g. "JIT kernels for avx512_core, picked by CPUID".
        public var note: String
        /// Threads one GEMM may use on the calling thread.
        public var threads: Int
        public var config: String
    }

    nonisolated(unsafe) private static var configured: Status?

    /// Idempotent; what `--version` and `bench` report. Nothing needs configuring: oneDNN reads the
    /// CPU itself.
    @discardableResult
    public static func configure() -> Status {
        if let s = configured { return s }
        let isa = isaName(dnnl_get_effective_cpu_isa())
        let s = Status(core: coreName(), note: "JIT kernels for \(isa), picked by CPUID", threads: threads,
                       config: "oneDNN \(version), CPU runtime OpenMP; one thread per GEMM, the engine's workers share the cores")
        configured = s
        return s
    }

    static var version: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }

    public static func coreName() -> String { "oneDNN \(version) \(isaName(dnnl_get_effective_cpu_isa()))" }

    static func isaName(_ isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_sse41: return "sse41"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        default: return "isa 0x" + String(isa.rawValue, radix: 16)
        }
    }

    /// Threads one GEMM started from the calling thread may use (its OpenMP team size).
    public static var threads: Int {
        get { Int(omp_get_max_threads()) }
        set { omp_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Called by every engine pass before its first GEMM: the calling thread's GEMMs run on one
    /// thread (the workers' own are set by `sgemm`). With a single worker the caller asked for one
    /// core (`--threads 1`, e.g. two fine-tunes side by side), which a 2-thread GEMM would overrun.
    public static func useOneThreadPerWorker() {
        if threads != 1 { threads = 1 }
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
        if omp_get_max_threads() != 1 { omp_set_num_threads(1) }
        let status = dnnl_sgemm(CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                                dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb),
                                beta, c, dnnl_dim_t(ldc))
        // Shapes and strides come from the engine's own layouts, never from a file: a refusal is a bug.
        precondition(status == dnnl_success, "dnnl_sgemm refused m \(m) n \(n) k \(k) lda \(lda) ldb \(ldb) ldc \(ldc): status \(status.rawValue)")
    }
}
