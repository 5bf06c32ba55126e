import CDNNL
import Foundation
import Synchronization

/// A Linear layer's weight, reordered once into the blocked layout oneDNN's matmul kernels read, and
/// the matmul primitives that use it, one per row count (token counts vary per block under
/// compression, so primitives are cached by shape).
///
///     weight [OUT, IN] (PyTorch layout), packed for one of two products:
///     .forward         out [rows, OUT] (+)= inp [rows, IN] @ weight^T      (K = IN, N = OUT)
///     .inputGradient   dinp [rows, IN] (+)= dout [rows, OUT] @ weight      (K = OUT, N = IN)
///
/// Why: `dnnl_sgemm` repacks its B operand (here the weight) on every call, once per worker; with the
/// weight packed at load the products of a DeiT block run 10-20 % faster (measured on these shapes).
///
/// Threads: oneDNN (as Debian builds it) lets a primitive run only on the thread that created it,
/// so every thread keeps its own primitives and stream (`MatMulThreadCache`). A primitive takes its
/// thread count when it is created, so each is created with the thread at one OpenMP thread (the
/// engine's workers share the cores; see `BLAS`). The packed weight is read-only and shared.
///
/// Packed weights are a copy: whoever changes the parameters afterwards must drop them
/// (`ViTModel.unpackWeights()`; the trainer does after every step).
public final class PackedWeight: @unchecked Sendable {
    /// Which product the weight is packed for.
    public enum Use: Sendable {
        case forward, inputGradient
    }
    /// The product's reduction length K and output width N.
    public let k: Int
    public let n: Int
    /// Unique for the life of the process: the threads' primitive caches are keyed by it, so a
    /// freed weight's primitives are never used again (they age out of the bounded cache).
    let id: Int
    private static let ids = Atomic<Int>(0)
    /// The packed layout of the logical [K, N] operand.
    var desc: dnnl_memory_desc_t
    let data: UnsafeMutableRawPointer

    /// Bounds the matmul primitives kept: `perThread` in each thread's cache, `shared` in oneDNN's
    /// process-wide cache of compiled kernels (1,024 by default), which every primitive made draws
    /// on and which keeps a kernel after the thread's cache has dropped it. Both have to be small for
    /// the memory to level off: the explorer sees a new token count per block at every keep, prune
    /// rate and method, so the caches fill for minutes (its soak grew 10-12 % from its first minute
    /// to its fourth with either bound left at the default, 1 % with both at 64; docs/reliability.md).
    /// Call before the first product.
    public static func limitPrimitives(perThread: Int, shared: Int) {
        MatMulThreadCache.capacity = max(1, perThread)
        _ = dnnl_set_primitive_cache_capacity(Int32(max(0, shared)))
    }

    /// oneDNN's shared cache bound (for tests), or -1 when oneDNN does not say.
    static var sharedPrimitiveCapacity: Int {
        var c: Int32 = 0
        return dnnl_get_primitive_cache_capacity(&c) == dnnl_success ? Int(c) : -1
    }

    /// Packs `weight` [out, in] for `use`; nil when oneDNN offers no packed layout for the shape
    /// (the caller then keeps the plain GEMM).
    public init?(weight: UnsafePointer<Float>, out: Int, in inp: Int, for use: Use = .forward) {
        let (k, n) = use == .forward ? (inp, out) : (out, inp)
        self.k = k
        self.n = n
        id = Self.ids.add(1, ordering: .relaxed).newValue
        guard let engine = OneDNN.engine, n > 0, k > 0 else { return nil }
        BLAS.useOneThreadPerWorker()  // no OpenMP team left spinning after the reorder
        // The layout is chosen by a primitive for a typical row count; other row counts reuse it.
        guard let pd = OneDNN.matmulDesc(m: 128, n: n, k: k, weights: nil, epilogue: .store) else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let packed = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0) else { return nil }
        desc = packed.pointee
        let bytes = dnnl_memory_desc_get_size(&desc)
        guard bytes > 0, let buffer = aligned(bytes) else { return nil }
        data = buffer
        var plain = OneDNN.plainWeightDesc(out: out, in: inp, for: use)
        var from: dnnl_memory_t?, to: dnnl_memory_t?
        var rpd: dnnl_primitive_desc_t?, reorder: dnnl_primitive_t?
        defer {
            if let from { dnnl_memory_destroy(from) }
            if let to { dnnl_memory_destroy(to) }
            if let reorder { dnnl_primitive_destroy(reorder) }
            if let rpd { dnnl_primitive_desc_destroy(rpd) }
        }
        guard dnnl_memory_create(&from, &plain, engine, UnsafeMutableRawPointer(mutating: weight)) == dnnl_success,
              dnnl_memory_create(&to, &desc, engine, buffer) == dnnl_success,
              dnnl_reorder_primitive_desc_create(&rpd, &plain, engine, &desc, engine, nil) == dnnl_success,
              dnnl_primitive_create(&reorder, rpd) == dnnl_success else {
            free(buffer)
            return nil
        }
        var args = [dnnl_exec_arg_t(arg: 1, memory: from), dnnl_exec_arg_t(arg: 17, memory: to)]  // FROM, TO
        let stream = MatMulThreadCache.current.stream
        guard dnnl_primitive_execute(reorder, stream, 2, &args) == dnnl_success, dnnl_stream_wait(stream) == dnnl_success else {
            free(buffer)
            return nil
        }
    }

    deinit { free(data) }

    /// What the product P does with its result.
    public enum Epilogue: Hashable, Sendable {
        /// out = P
        case store
        /// out += P (out already holds e.g. a gradient from another branch)
        case accumulate
        /// out = P + bias
        case bias
        /// out = P + bias + residual: a block's skip connection read inside the product's epilogue,
        /// not written into `out` by a pass of its own first
        case biasResidual
        /// out = GELU(P + bias): fc1 when nothing needs its input afterwards (inference)
        case biasGELU

        var readsBias: Bool { self == .bias || self == .biasResidual || self == .biasGELU }
    }

    /// Runs the product; false when this thread has no primitive for the row count (yet: see
    /// `MatMulThreadCache`), and the caller then runs the plain GEMM. `bias` [N] is read by the
    /// epilogues with a bias, `residual` [rows, N] by `.biasResidual` (it must not be `out`).
    func run(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int, epilogue: Epilogue,
             bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil) -> Bool {
        MatMulThreadCache.current.run(self, out: out, inp: inp, rows: rows, epilogue: epilogue, bias: bias, residual: residual)
    }
}

private func aligned(_ bytes: Int) -> UnsafeMutableRawPointer? {
    var p: UnsafeMutableRawPointer?
    return posix_memalign(&p, 64, bytes) == 0 ? p : nil
}

/// oneDNN's CPU engine and the descriptors the matmuls share.
enum OneDNN {
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
        var e: dnnl_engine_t?
        return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nil
    }()

    /// The user's weight [OUT, IN] row-major seen as the product's logical [K, N] operand: W^T
    /// [IN, OUT] with strides (1, IN) for the forward product, W itself [OUT, IN] with strides (IN, 1)
    /// for the input gradient.
    static func plainWeightDesc(out: Int, in inp: Int, for use: PackedWeight.Use) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let forward = use == .forward
        var dims: (dnnl_dim_t, dnnl_dim_t) = forward ? (dnnl_dim_t(inp), dnnl_dim_t(out)) : (dnnl_dim_t(out), dnnl_dim_t(inp))
        var strides: (dnnl_dim_t, dnnl_dim_t) = forward ? (1, dnnl_dim_t(inp)) : (dnnl_dim_t(inp), 1)
        withUnsafeMutablePointer(to: &dims) { d in
            withUnsafeMutablePointer(to: &strides) { s in
                d.withMemoryRebound(to: dnnl_dim_t.self, capacity: 2) { dp in
                    s.withMemoryRebound(to: dnnl_dim_t.self, capacity: 2) { sp in
                        _ = dnnl_memory_desc_init_by_strides(&md, 2, dp, dnnl_f32, sp)
                    }
                }
            }
        }
        return md
    }

    static func rowMajor(_ rows: Int, _ cols: Int) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var dims: (dnnl_dim_t, dnnl_dim_t) = (dnnl_dim_t(rows), dnnl_dim_t(cols))
        withUnsafeMutablePointer(to: &dims) { d in
            d.withMemoryRebound(to: dnnl_dim_t.self, capacity: 2) { _ = dnnl_memory_desc_init_by_tag(&md, 2, $0, dnnl_f32, dnnl_ab) }
        }
        return md
    }

    /// A matmul [m, k] x [k, n] -> [m, n], weights in `weights` (nil: let oneDNN choose), with a
    /// bias input for the epilogues with a bias, and as post-op a sum (`.accumulate`), an add of a
    /// [m, n] operand (`.biasResidual`) or erf-GELU (`.biasGELU`). Nil when oneDNN has no
    /// implementation.
    static func matmulDesc(m: Int, n: Int, k: Int, weights: dnnl_memory_desc_t?, epilogue: PackedWeight.Epilogue) -> dnnl_primitive_desc_t? {
        guard let engine else { return nil }
        var src = rowMajor(m, k), dst = rowMajor(m, n), bias = rowMajor(1, n)
        var wei: dnnl_memory_desc_t
        if let weights {
            wei = weights
        } else {
            wei = dnnl_memory_desc_t()
            var dims: (dnnl_dim_t, dnnl_dim_t) = (dnnl_dim_t(k), dnnl_dim_t(n))
            withUnsafeMutablePointer(to: &dims) { d in
                d.withMemoryRebound(to: dnnl_dim_t.self, capacity: 2) { _ = dnnl_memory_desc_init_by_tag(&wei, 2, $0, dnnl_f32, dnnl_format_tag_any) }
            }
        }
        var desc = dnnl_matmul_desc_t()
        let initialised = epilogue.readsBias ? dnnl_matmul_desc_init(&desc, &src, &wei, &bias, &dst)
                                             : dnnl_matmul_desc_init(&desc, &src, &wei, nil, &dst)
        guard initialised == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attr) == dnnl_success else { return nil }
        defer { dnnl_primitive_attr_destroy(attr) }
        if epilogue != .store && epilogue != .bias {
            var ops: dnnl_post_ops_t?
            guard dnnl_post_ops_create(&ops) == dnnl_success else { return nil }
            defer { dnnl_post_ops_destroy(ops) }
            let appended: dnnl_status_t
            switch epilogue {
            case .accumulate: appended = dnnl_post_ops_append_sum(ops, 1)
            case .biasResidual: appended = dnnl_post_ops_append_binary(ops, dnnl_binary_add, &dst)
            default: appended = dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_gelu_erf, 0, 0)
            }
            guard appended == dnnl_success, dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success else { return nil }
        }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil) == dnnl_success else { return nil }
        return pd
    }
}

/// One thread's matmul primitives and stream (see `PackedWeight` for why per thread).
final class MatMulThreadCache {
    private struct Key: Hashable {
        let weight: Int
        let rows: Int
        let epilogue: PackedWeight.Epilogue
    }
    private final class Entry {
        let primitive: dnnl_primitive_t
        let src, weights, dst: dnnl_memory_t
        let bias, residual: dnnl_memory_t?
        init(primitive: dnnl_primitive_t, src: dnnl_memory_t, weights: dnnl_memory_t, dst: dnnl_memory_t,
             bias: dnnl_memory_t?, residual: dnnl_memory_t?) {
            self.primitive = primitive; self.src = src; self.weights = weights; self.dst = dst
            self.bias = bias; self.residual = residual
        }
        deinit {
            dnnl_primitive_destroy(primitive)
            dnnl_memory_destroy(src); dnnl_memory_destroy(weights); dnnl_memory_destroy(dst)
            if let bias { dnnl_memory_destroy(bias) }
            if let residual { dnnl_memory_destroy(residual) }
        }
    }

    let stream: dnnl_stream_t?
    /// A primitive (nil: a shape oneDNN could not make one for) and when it was last used.
    private struct Slot {
        let entry: Entry?
        var lastUse: Int
    }
    private var entries: [Key: Slot] = [:]
    /// Uses so far: the clock of `Slot.lastUse`.
    private var uses = 0
    /// At most this many primitives per thread; past it the least recently used quarter goes. 512
    /// holds a DeiT's 48 weights at ten token counts each; the explorer asks for fewer
    /// (`PackedWeight.limitPrimitives`). Set before the first product, read by every thread after.
    nonisolated(unsafe) static var capacity = 512
    /// Shapes seen fewer than `creationSightings` times. A primitive costs 0.2-0.7 ms of JIT
    /// compilation, while packing saves 10-20 % of a product of 0.05-1 ms, so a primitive pays for
    /// itself only on a shape that keeps coming back: the passes that repeat (the dense model, a plan
    /// applied to image after image, a benchmark) run packed from their fourth time, and the one-off
    /// token counts of a new Prune and Merge plan never wait for a compiler.
    private var sightings: [Key: Int] = [:]
    static let creationSightings = 4
    /// The sightings are forgotten when this many shapes are waiting (a bound, as for the primitives).
    static let sightingsCapacity = 4096

    /// Primitives this thread holds (for tests).
    var primitiveCount: Int { entries.values.filter { $0.entry != nil }.count }

    init() {
        var s: dnnl_stream_t?
        if let engine = OneDNN.engine, dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue) == dnnl_success {
            stream = s
        } else {
            stream = nil
        }
    }

    deinit {
        entries.removeAll()
        if let stream { dnnl_stream_destroy(stream) }
    }

    func run(_ w: PackedWeight, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int,
             epilogue: PackedWeight.Epilogue, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?) -> Bool {
        guard rows > 0, let stream else { return rows == 0 }
        guard epilogue.readsBias == (bias != nil), (epilogue == .biasResidual) == (residual != nil),
              residual.map({ UnsafeMutablePointer(mutating: $0) != out }) ?? true else { return false }
        // Before `make`: a primitive fixes its thread count when it is created.
        BLAS.useOneThreadPerWorker()
        let key = Key(weight: w.id, rows: rows, epilogue: epilogue)
        let entry: Entry?
        uses += 1
        if let cached = entries[key] {
            entry = cached.entry
            entries[key]?.lastUse = uses
        } else {
            let seen = sightings[key, default: 0] + 1
            if seen < Self.creationSightings {
                if sightings.count >= Self.sightingsCapacity { sightings.removeAll(keepingCapacity: true) }
                sightings[key] = seen
                return false
            }
            sightings[key] = nil
            if entries.count >= Self.capacity { evictLeastRecentlyUsed() }
            entry = make(w, rows: rows, epilogue: epilogue)
            entries[key] = Slot(entry: entry, lastUse: uses)
        }
        guard let entry else { return false }
        dnnl_memory_set_data_handle(entry.src, UnsafeMutableRawPointer(mutating: inp))
        dnnl_memory_set_data_handle(entry.dst, out)
        // SRC, WEIGHTS, DST, then BIAS and the first post-op's SRC_1 when the epilogue reads them.
        var args = (dnnl_exec_arg_t(arg: 1, memory: entry.src), dnnl_exec_arg_t(arg: 33, memory: entry.weights),
                    dnnl_exec_arg_t(arg: 17, memory: entry.dst), dnnl_exec_arg_t(), dnnl_exec_arg_t())
        var count: Int32 = 3
        if let b = entry.bias, let bias {
            dnnl_memory_set_data_handle(b, UnsafeMutableRawPointer(mutating: bias))
            args.3 = dnnl_exec_arg_t(arg: 41, memory: b)
            count = 4
        }
        if let r = entry.residual, let residual {
            dnnl_memory_set_data_handle(r, UnsafeMutableRawPointer(mutating: residual))
            let slot = dnnl_exec_arg_t(arg: Self.firstPostOpSource, memory: r)
            if count == 4 { args.4 = slot } else { args.3 = slot }
            count += 1
        }
        let status = withUnsafeMutableBytes(of: &args) {
            dnnl_primitive_execute(entry.primitive, stream, count, $0.baseAddress!.assumingMemoryBound(to: dnnl_exec_arg_t.self))
        }
        precondition(status == dnnl_success && dnnl_stream_wait(stream) == dnnl_success,
                     "oneDNN matmul refused rows \(rows) N \(w.n) K \(w.k): status \(status.rawValue)")
        return true
    }

    /// DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, the operand of the first post-op (the
    /// header's macro takes an argument, so Swift does not import it).
    static let firstPostOpSource = Int32(DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | DNNL_ARG_SRC_1)

    /// Drops the least recently used quarter of the primitives (their deinit destroys them).
    private func evictLeastRecentlyUsed() {
        let oldest = entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(max(1, entries.count / 4))
        for (key, _) in oldest { entries[key] = nil }
    }

    private func make(_ w: PackedWeight, rows: Int, epilogue: PackedWeight.Epilogue) -> Entry? {
        guard let engine = OneDNN.engine,
              let pd = OneDNN.matmulDesc(m: rows, n: w.n, k: w.k, weights: w.desc, epilogue: epilogue) else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var src = OneDNN.rowMajor(rows, w.k), dst = OneDNN.rowMajor(rows, w.n)
        var primitive: dnnl_primitive_t?, s: dnnl_memory_t?, d: dnnl_memory_t?, wm: dnnl_memory_t?
        var wdesc = w.desc
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else { return nil }
        guard dnnl_memory_create(&s, &src, engine, nil) == dnnl_success, let s,
              dnnl_memory_create(&d, &dst, engine, nil) == dnnl_success, let d,
              dnnl_memory_create(&wm, &wdesc, engine, w.data) == dnnl_success, let wm else {
            dnnl_primitive_destroy(primitive)
            return nil
        }
        var b: dnnl_memory_t?, r: dnnl_memory_t?
        var bdesc = OneDNN.rowMajor(1, w.n)
        if epilogue.readsBias && dnnl_memory_create(&b, &bdesc, engine, nil) != dnnl_success
            || epilogue == .biasResidual && dnnl_memory_create(&r, &dst, engine, nil) != dnnl_success {
            dnnl_primitive_destroy(primitive)
            dnnl_memory_destroy(s); dnnl_memory_destroy(d); dnnl_memory_destroy(wm)
            if let b { dnnl_memory_destroy(b) }
            return nil
        }
        return Entry(primitive: primitive, src: s, weights: wm, dst: d, bias: b, residual: r)
    }

    /// This thread's cache, made on first use and freed when the thread ends.
    static var current: MatMulThreadCache {
        if let p = pthread_getspecific(key) { return Unmanaged<MatMulThreadCache>.fromOpaque(p).takeUnretainedValue() }
        let cache = MatMulThreadCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in
            if let p { Unmanaged<MatMulThreadCache>.fromOpaque(p).release() }
        }
        return k
    }()
}
