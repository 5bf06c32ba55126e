import Engine

/// The compressed forward pass of a Prune and Merge model, on preallocated buffers.
///
/// For a compressed block i with C tokens (N = all tokens, D = width), per image:
///
///     restored = x * pass                   official: pass = 1 - mask, pruned (and unassigned) tokens
///                                           skip the block; update: pass = 1, every token keeps its own
///     merged   = merge [C, N] @ x [N, D]
///     y        = block(merged)              attention and MLP on C tokens (update: y -= merged, the
///                                           block's update only, kept in the layer's `res2`)
///     restored += recover [N, C] @ y        every block hands the full token grid to the next
///
/// Dense blocks run as in the engine. The merge/recover products are GEMMs, so the pass is the same
/// whether the matrices are a fresh plan (one weight per column) or dense after fine-tuning.
public final class PMForward {
    public let model: PMModel
    public let batch: Int
    public let acts: Activations
    /// Per layer (inference: shared) [B, C, D] merged tokens, for compressed blocks.
    public let merged: [UnsafeMutablePointer<Float>?]
    /// Per layer (inference: two, alternating) [B, N, D] restored outputs, for compressed blocks.
    public let restored: [UnsafeMutablePointer<Float>?]
    let arena: Arena
    public let mergeW: [UnsafeMutablePointer<Float>?]
    public let recoverW: [UnsafeMutablePointer<Float>?]
    public let passMask: [UnsafeMutablePointer<Float>?]

    /// The merge and recover matrices of every compressed block, contiguous (this copy is what runs
    /// and what fine-tuning trains; `writeBack` stores it into the model).
    public let matrices: Arena
    /// Per compressed block: offsets of its merge and recover matrices inside `matrices`.
    public let matrixOffsets: [(block: Int, merge: Int, recover: Int)]
    /// Per layer, the input and output of the block in the last forward pass ([b, N, D] each).
    public private(set) var blockInputs: [UnsafePointer<Float>?]
    public private(set) var blockOutputs: [UnsafePointer<Float>?]

    public init(model: PMModel, batch: Int, keepAllLayers: Bool = false) {
        self.model = model
        self.batch = batch
        let c = model.dense.config, n = c.tokens, d = c.dim
        acts = Activations(config: c, batch: batch, keepAllLayers: keepAllLayers)
        let compressed = model.blocks.compactMap { $0 }
        let matrixCount = compressed.reduce(0) { $0 + $1.merge.count + $1.recover.count }
        let mats = Arena(count: matrixCount)
        matrices = mats
        var offsets: [(Int, Int, Int)] = []
        var mo = 0
        var mw = [UnsafeMutablePointer<Float>?](repeating: nil, count: c.depth)
        var rw = mw
        for b in compressed {
            (mats.base + mo).update(from: b.merge, count: b.merge.count)
            (mats.base + mo + b.merge.count).update(from: b.recover, count: b.recover.count)
            offsets.append((b.block, mo, mo + b.merge.count))
            mw[b.block] = mats.base + mo
            rw[b.block] = mats.base + mo + b.merge.count
            mo += b.merge.count + b.recover.count
        }
        matrixOffsets = offsets
        let maxC = compressed.map(\.channels).max() ?? 0
        let storedMerged = keepAllLayers ? compressed.count : 1
        let storedRestored = keepAllLayers ? compressed.count : 2
        let arena = Arena(count: compressed.count * n + storedMerged * batch * maxC * d + storedRestored * batch * n * d)
        self.arena = arena
        var off = 0
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { off += k }; return arena.base + off }
        var pm = [UnsafeMutablePointer<Float>?](repeating: nil, count: c.depth)
        var mg = pm, rs = pm
        var sharedMerged: UnsafeMutablePointer<Float>?
        var pingPong: [UnsafeMutablePointer<Float>] = []
        for (k, b) in compressed.enumerated() {
            let p = take(n)
            for j in 0..<n { p[j] = model.recovery == .update ? 1 : 1 - b.tokenMask[j] }
            pm[b.block] = p
            if keepAllLayers {
                mg[b.block] = take(batch * maxC * d)
                rs[b.block] = take(batch * n * d)
            } else {
                if sharedMerged == nil { sharedMerged = take(batch * maxC * d); pingPong = [take(batch * n * d), take(batch * n * d)] }
                mg[b.block] = sharedMerged
                rs[b.block] = pingPong[k % 2]
            }
        }
        mergeW = mw; recoverW = rw; passMask = pm; merged = mg; restored = rs
        blockInputs = [UnsafePointer<Float>?](repeating: nil, count: c.depth)
        blockOutputs = blockInputs
    }

    /// Copies the (trained) matrices back into the model's blocks.
    public func writeBack() {
        for (block, m, r) in matrixOffsets {
            model.setMatrices(block: block, merge: matrices.array(offset: m, count: r - m),
                              recover: matrices.array(offset: r, count: model.blocks[block]?.recover.count ?? 0))
        }
    }

    /// Runs `b` images [b, C, S, S]; logits land in `acts.logits`. `afterBlock(i, output [b, N, D])`
    /// sees each block's full-grid output.
    public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int = 2,
                        afterBlock: ((Int, UnsafePointer<Float>) -> Void)? = nil) {
        precondition(b <= batch, "PMForward: batch \(b) > \(batch)")
        let dense = model.dense, c = dense.config, n = c.tokens, d = c.dim
        let workers = max(1, workers)
        BLAS.useOneThreadPerWorker()
        dense.embed(acts, images: images, batch: b, workers: workers)
        var x = UnsafePointer(acts.x0)
        for l in 0..<c.depth {
            let a = acts.layers[l]
            blockInputs[l] = x
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
                let update = model.recovery == .update
                Parallel.chunks(b, workers: workers) { r in
                    for i in r {
                        if update {
                            let yi = a.res2 + i * ch * d, mi = UnsafePointer(mg + i * ch * d)
                            for q in 0..<(ch * d) { yi[q] -= mi[q] }
                        }
                        BLAS.sgemm(m: n, n: d, k: ch, a: rw, lda: ch, b: a.res2 + i * ch * d, ldb: d, beta: 1,
                                   c: out + i * n * d, ldc: d)
                    }
                }
                x = UnsafePointer(out)
            } else {
                dense.blockForward(l, input: x, tokens: n, into: a, batch: b, workers: workers)
                x = UnsafePointer(a.res2)
            }
            blockOutputs[l] = x
            afterBlock?(l, x)
        }
        dense.head(acts, last: x, tokens: n, batch: b)
    }

    public func logits(batch b: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: acts.logits, count: b * model.dense.config.numClasses))
    }
}
