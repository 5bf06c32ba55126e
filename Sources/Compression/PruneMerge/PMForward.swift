import Engine

/// The compressed forward pass of a Prune and Merge model, on preallocated buffers.
///
/// For a compressed block i with C tokens (N = all tokens, D = width), per image:
///
///     restored = x * (1 - mask)             pruned (and unassigned) tokens skip the block
///     merged   = merge [C, N] @ x [N, D]
///     y        = block(merged)              attention and MLP on C tokens
///     restored += recover [N, C] @ y        every block hands the full token grid to the next
///
/// Dense blocks run as in the engine. The merge/recover products are GEMMs, so the pass is the same
/// whether the matrices are a fresh plan (one weight per column) or dense after fine-tuning.
public final class PMForward {
    public let model: PMModel
    public let batch: Int
    public let acts: Activations
    /// Per layer (inference: shared) [B, C, D] merged tokens, for compressed blocks.
    let merged: [UnsafeMutablePointer<Float>?]
    /// Per layer (inference: two, alternating) [B, N, D] restored outputs, for compressed blocks.
    let restored: [UnsafeMutablePointer<Float>?]
    let arena: Arena
    let mergeW: [UnsafeMutablePointer<Float>?]
    let recoverW: [UnsafeMutablePointer<Float>?]
    let passMask: [UnsafeMutablePointer<Float>?]

    public init(model: PMModel, batch: Int, keepAllLayers: Bool = false) {
        self.model = model
        self.batch = batch
        let c = model.dense.config, n = c.tokens, d = c.dim
        acts = Activations(config: c, batch: batch, keepAllLayers: keepAllLayers)
        var sizes = 0
        for b in model.blocks.compactMap({ $0 }) { sizes += b.merge.count + b.recover.count + n }
        let maxC = model.blocks.compactMap { $0?.channels }.max() ?? 0
        let storedMerged = keepAllLayers ? model.blocks.compactMap { $0 }.count : 1
        let storedRestored = keepAllLayers ? model.blocks.compactMap { $0 }.count : 2
        sizes += storedMerged * batch * maxC * d + storedRestored * batch * n * d
        let arena = Arena(count: sizes)
        self.arena = arena
        var off = 0
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { off += k }; return arena.base + off }
        var mw = [UnsafeMutablePointer<Float>?](repeating: nil, count: c.depth)
        var rw = mw, pm = mw, mg = mw, rs = mw
        var sharedMerged: UnsafeMutablePointer<Float>?
        var pingPong: [UnsafeMutablePointer<Float>] = []
        var k = 0
        for (i, blk) in model.blocks.enumerated() {
            guard let b = blk else { continue }
            let m = take(b.merge.count); m.update(from: b.merge, count: b.merge.count); mw[i] = m
            let r = take(b.recover.count); r.update(from: b.recover, count: b.recover.count); rw[i] = r
            let p = take(n)
            for j in 0..<n { p[j] = 1 - b.tokenMask[j] }
            pm[i] = p
            if keepAllLayers {
                mg[i] = take(batch * maxC * d)
                rs[i] = take(batch * n * d)
            } else {
                if sharedMerged == nil { sharedMerged = take(batch * maxC * d); pingPong = [take(batch * n * d), take(batch * n * d)] }
                mg[i] = sharedMerged
                rs[i] = pingPong[k % 2]
            }
            k += 1
        }
        mergeW = mw; recoverW = rw; passMask = pm; merged = mg; restored = rs
    }

    /// Runs `b` images [b, C, S, S]; logits land in `acts.logits`. `afterBlock(i, output [b, N, D])`
    /// sees each block's full-grid output.
    public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int = 2,
                        afterBlock: ((Int, UnsafePointer<Float>) -> Void)? = nil) {
        precondition(b <= batch, "PMForward: batch \(b) > \(batch)")
        let dense = model.dense, c = dense.config, n = c.tokens, d = c.dim
        let workers = max(1, workers)
        if workers > 1 { BLAS.threads = 1 }
        dense.embed(acts, images: images, batch: b, workers: workers)
        var x = UnsafePointer(acts.x0)
        for l in 0..<c.depth {
            let a = acts.layers[l]
            if let blk = model.blocks[l], let mw = mergeW[l], let rw = recoverW[l], let pass = passMask[l],
               let mg = merged[l], let out = restored[l] {
                let ch = blk.channels
                let xs = SendablePointer(UnsafeMutablePointer(mutating: x))
                Parallel.chunks(b, workers: workers) { r in
                    for i in r {
                        let xi = xs.p + i * n * d, oi = out + i * n * d
                        // Pass-through rows first: the block may overwrite x (a shared buffer) later.
                        for t in 0..<n {
                            let f = pass[t]
                            let src = xi + t * d, dst = oi + t * d
                            if f == 0 { dst.update(repeating: 0, count: d) } else { for e in 0..<d { dst[e] = src[e] * f } }
                        }
                        BLAS.sgemm(m: ch, n: d, k: n, a: mw, lda: n, b: xi, ldb: d, beta: 0, c: mg + i * ch * d, ldc: d)
                    }
                }
                dense.blockForward(l, input: mg, tokens: ch, into: a, batch: b, workers: workers)
                Parallel.chunks(b, workers: workers) { r in
                    for i in r {
                        BLAS.sgemm(m: n, n: d, k: ch, a: rw, lda: ch, b: a.res2 + i * ch * d, ldb: d, beta: 1,
                                   c: out + i * n * d, ldc: d)
                    }
                }
                x = UnsafePointer(out)
            } else {
                dense.blockForward(l, input: x, tokens: n, into: a, batch: b, workers: workers)
                x = UnsafePointer(a.res2)
            }
            afterBlock?(l, x)
        }
        dense.head(acts, last: x, tokens: n, batch: b)
    }

    public func logits(batch b: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: acts.logits, count: b * model.dense.config.numClasses))
    }
}
