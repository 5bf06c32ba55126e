/// The ViT backward pass, llm.c style: walks the forward's ops in reverse, each op's backward
/// accumulating into the parameter gradients (same layout as the parameters, one arena) and
/// passing the input gradient on. It needs the activations of a forward pass run with
/// `keepAllLayers: true`.
///
/// Parallelism mirrors the forward: input gradients split by rows, weight gradients split by output
/// features (so no two workers write the same weight), attention by (image, head); 1-thread GEMMs.

/// d loss / d parameter, laid out exactly like the parameters.
public final class Gradients {
    public let arena: Arena
    public let views: ParameterViews
    public init(model: ViTModel) {
        arena = Arena(count: model.table.count)
        views = ParameterViews(table: model.table, config: model.config, base: arena.base)
    }
    public func zero() { arena.zero() }
}

/// Activation gradients for one block at a time (blocks are walked one by one, so one set is
/// enough), plus per-worker scratch. Sized for a batch of up to `batch` images.
public final class BackwardScratch {
    public let batch: Int
    /// The running activation gradient [B, t, D] between blocks (for methods that compose blocks).
    public var dresPointer: UnsafeMutablePointer<Float> { dres }
    /// The attention residual's gradient [B, t, D] between a block's two halves (`mlpBackward`
    /// writes it, `attentionBackward` reads it).
    public var dres1Pointer: UnsafeMutablePointer<Float> { dres1 }
    let arena: Arena
    let dres, dres1, dln: UnsafeMutablePointer<Float>      // [B, T, D]
    let dmlp: UnsafeMutablePointer<Float>                  // [B, T, M]
    let dattOut: UnsafeMutablePointer<Float>               // [B, T, I]
    let dqkv: UnsafeMutablePointer<Float>                  // [B, T, 3I]
    let datt: UnsafeMutablePointer<Float>                  // [B, H, T, T]  d loss / d attention probabilities
    let dS: UnsafeMutablePointer<Float>                    // [workers, T, T]
    let keyScores: UnsafeMutablePointer<Float>             // [B, H, T]
    let dlnf: UnsafeMutablePointer<Float>                  // [B, prefix, D]
    public let maxWorkers: Int

    public init(config c: ViTConfig, batch b: Int, maxWorkers: Int = 8) {
        self.batch = b
        self.maxWorkers = max(1, maxWorkers)
        let t = c.tokens, bt = b * t
        let sizes = [bt * c.dim, bt * c.dim, bt * c.dim, bt * c.mlpDim, bt * c.innerDim, bt * 3 * c.innerDim,
                     b * c.heads * t * t, self.maxWorkers * t * t, b * c.heads * t, b * c.prefixTokens * c.dim]
        let arena = Arena(count: sizes.reduce(0, +), zeroed: true)
        self.arena = arena
        var off = 0
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { off += n }; return arena.base + off }
        dres = take(sizes[0]); dres1 = take(sizes[1]); dln = take(sizes[2]); dmlp = take(sizes[3])
        dattOut = take(sizes[4]); dqkv = take(sizes[5]); datt = take(sizes[6]); dS = take(sizes[7])
        keyScores = take(sizes[8]); dlnf = take(sizes[9])
    }
}

extension ViTModel {
    /// Backpropagates `dlogits` [B, classes] through the network whose forward pass left `acts`.
    ///
    /// - grads: accumulates every parameter's gradient (nil skips the weight-gradient GEMMs, about
    ///   half the work, when only scores or attention gradients are wanted).
    /// - scores: if given, [depth, numPatches] receives, per block, the signed gradient-weighted
    ///   attention term of each patch key: sum over images, heads and queries of dA * A, divided by
    ///   B * H * N (the official code's normalisation; prefix keys dropped). The caller takes abs().
    /// - afterAttentionBackward: sees each block's dA [B, H, T, T] (called from the deepest block up).
    public func backward(_ acts: Activations, scratch s: BackwardScratch, grads: Gradients?,
                         dlogits: UnsafePointer<Float>, batch b: Int, workers: Int = 2,
                         scores: UnsafeMutablePointer<Float>? = nil,
                         afterAttentionBackward: ((Int, UnsafePointer<Float>) -> Void)? = nil) {
        precondition(acts.keepAllLayers, "backward: the forward pass must keep every layer's activations")
        precondition(b <= acts.batch && b <= s.batch, "backward: batch larger than the buffers")
        let c = config
        let workers = min(max(1, workers), s.maxWorkers)
        BLAS.useOneThreadPerWorker()
        let t = c.tokens
        headBackward(acts, last: acts.layers[c.depth - 1].res2, tokens: t, scratch: s, grads: grads, dlogits: dlogits, batch: b)
        for l in stride(from: c.depth - 1, through: 0, by: -1) {
            // Without parameter gradients nothing reads the first block's input gradient (it reaches
            // no attention map), so that block stops at its attention probabilities.
            blockBackward(l, input: acts.input(ofLayer: l), tokens: t, layer: acts.layers[l], scratch: s, grads: grads,
                          batch: b, workers: workers, keyScores: scores != nil, inputGradient: grads != nil || l > 0)
            afterAttentionBackward?(l, s.datt)
            if let scores {
                let np = c.numPatches, h = c.heads, pre = c.prefixTokens
                let norm = 1 / Float(b * h * t)
                for j in 0..<np {
                    var sum: Float = 0
                    for job in 0..<(b * h) { sum += s.keyScores[job * t + pre + j] }
                    scores[l * np + j] = sum * norm
                }
            }
        }
        if let grads { embedBackward(acts, scratch: s, grads: grads, batch: b, workers: workers) }
    }

    /// Head and final LayerNorm: writes d (last block output) [B, t, D] into `s.dres` (zero except
    /// the prefix rows the head reads).
    public func headBackward(_ acts: Activations, last: UnsafePointer<Float>, tokens t: Int, scratch s: BackwardScratch,
                             grads: Gradients?, dlogits: UnsafePointer<Float>, batch b: Int) {
        let c = config, p = views, g = grads?.views
        let d = c.dim, pre = c.prefixTokens, k = c.numClasses
        s.dres.update(repeating: 0, count: b * t * d)
        s.dlnf.update(repeating: 0, count: b * pre * d)
        // logits = LN(x)[:, 0] @ head^T + b (distilled: the average with head_dist on row 1).
        let headScale: Float = c.distilled ? 0.5 : 1
        BLAS.sgemm(m: b, n: d, k: k, alpha: headScale, a: dlogits, lda: k, b: p.headW, ldb: d, beta: 0, c: s.dlnf, ldc: pre * d)
        if let g {
            BLAS.sgemm(transA: true, m: k, n: d, k: b, alpha: headScale, a: dlogits, lda: k, b: acts.lnf, ldb: pre * d,
                       beta: 1, c: g.headW, ldc: d)
            for i in 0..<b { for j in 0..<k { g.headB[j] += headScale * dlogits[i * k + j] } }
        }
        if let hw = p.headDistW {
            BLAS.sgemm(m: b, n: d, k: k, alpha: 0.5, a: dlogits, lda: k, b: hw, ldb: d, beta: 0, c: s.dlnf + d, ldc: pre * d)
            if let g, let gw = g.headDistW, let gb = g.headDistB {
                BLAS.sgemm(transA: true, m: k, n: d, k: b, alpha: 0.5, a: dlogits, lda: k, b: acts.lnf + d, ldb: pre * d,
                           beta: 1, c: gw, ldc: d)
                for i in 0..<b { for j in 0..<k { gb[j] += 0.5 * dlogits[i * k + j] } }
            }
        }
        for i in 0..<b {
            LayerNorm.backwardInput(dinp: s.dres + i * t * d, dout: s.dlnf + i * pre * d, inp: last + i * t * d,
                                    mean: acts.lnfMean + i * pre, rstd: acts.lnfRstd + i * pre, weight: p.normW, rows: pre, d: d)
            if let g {
                LayerNorm.backwardParams(dweight: g.normW, dbias: g.normB, dout: s.dlnf + i * pre * d, inp: last + i * t * d,
                                         mean: acts.lnfMean + i * pre, rstd: acts.lnfRstd + i * pre, rows: pre, d: d, features: 0..<d)
            }
        }
    }

    /// One block backward on `t` tokens: `mlpBackward`, then `attentionBackward`. On entry `s.dres`
    /// [B, t, D] holds d (block output); on return it holds d (block input), and `s.datt` holds
    /// d (attention probabilities) [B, H, t, t]. With `keyScores`, `s.keyScores` [B*H, t] gets sum
    /// over queries of dA * A for each key. `inputGradient: false` (only with `grads: nil`) stops
    /// once `s.datt` is written: `s.dres` is then left without d (block input).
    public func blockBackward(_ l: Int, input: UnsafePointer<Float>, tokens t: Int, layer a: Activations.Layer,
                              scratch s: BackwardScratch, grads: Gradients?, batch b: Int, workers: Int, keyScores: Bool,
                              inputGradient: Bool = true) {
        mlpBackward(l, input: a.res1, tokens: t, layer: a, scratch: s, grads: grads, batch: b, workers: workers)
        attentionBackward(l, input: input, tokens: t, layer: a, scratch: s, grads: grads, batch: b, workers: workers,
                          keyScores: keyScores, inputGradient: inputGradient)
    }

    /// The MLP half backward on `u` tokens (`mlpForward`'s inverse): on entry `s.dres` [B, u, D]
    /// holds d res2; on return `s.dres1` [B, u, D] holds d (MLP input), which is `input` (`a.res1`
    /// for a dense block, the reduced tokens after ToMe's or EViT's step).
    public func mlpBackward(_ l: Int, input: UnsafePointer<Float>, tokens u: Int, layer a: Activations.Layer,
                            scratch s: BackwardScratch, grads: Gradients?, batch b: Int, workers: Int) {
        let c = config, p = views
        let d = c.dim, m = c.mlpDim
        let rows = b * u
        let xin = SendablePointer(UnsafeMutablePointer(mutating: input))
        let bp = p.blocks[l]
        let gb = grads?.views.blocks[l]
        Parallel.chunks(rows, workers: workers) { r in
            let n = r.count, o = r.lowerBound
            Linear.backwardInput(dinp: s.dmlp + o * m, dout: s.dres + o * d, weight: bp.fc2W, rows: n,
                                 inFeatures: m, outFeatures: d, accumulate: false, packed: packed(l)?.fc2T)
        }
        if let gb {
            Parallel.chunks(d, workers: workers) { f in
                Linear.backwardParams(dweight: gb.fc2W, dbias: gb.fc2B, dout: s.dres, inp: a.gelu, rows: rows,
                                      inFeatures: m, outFeatures: d, features: f)
            }
        }
        Parallel.chunks(rows, workers: workers) { r in
            let n = r.count, o = r.lowerBound
            // d fc1 = d gelu * GELU'(fc1), in place, then fc1's input gradient.
            let gin = s.dmlp + o * m
            GELU.backwardInPlace(grad: gin, inp: a.fc1 + o * m, count: n * m)
            Linear.backwardInput(dinp: s.dln + o * d, dout: gin, weight: bp.fc1W, rows: n,
                                 inFeatures: d, outFeatures: m, accumulate: false, packed: packed(l)?.fc1T)
            // The MLP input gets the residual gradient plus LN2's input gradient.
            (s.dres1 + o * d).update(from: s.dres + o * d, count: n * d)
            LayerNorm.backwardInput(dinp: s.dres1 + o * d, dout: s.dln + o * d, inp: xin.p + o * d,
                                    mean: a.ln2Mean + o, rstd: a.ln2Rstd + o, weight: bp.norm2W, rows: n, d: d)
        }
        if let gb {
            Parallel.chunks(m, workers: workers) { f in
                Linear.backwardParams(dweight: gb.fc1W, dbias: gb.fc1B, dout: s.dmlp, inp: a.ln2, rows: rows,
                                      inFeatures: d, outFeatures: m, features: f)
            }
            Parallel.chunks(d, workers: workers) { f in
                LayerNorm.backwardParams(dweight: gb.norm2W, dbias: gb.norm2B, dout: s.dln, inp: xin.p,
                                         mean: a.ln2Mean, rstd: a.ln2Rstd, rows: rows, d: d, features: f)
            }
        }
    }

    /// The attention half backward on `t` tokens (`attentionForward`'s inverse): on entry
    /// `s.dres1` [B, t, D] holds d res1; on return `s.dres` [B, t, D] holds d (block input) and
    /// `s.datt` d (attention probabilities). `clsAttentionGradient` [B, t], when given, is added to
    /// every head's CLS row of d (attention probabilities) before the softmax backward: the
    /// gradient of a reduction that read those probabilities (EViT's fused token weights them). A
    /// key bias the forward added (ToMe's log sizes) is a constant and changes nothing here.
    public func attentionBackward(_ l: Int, input: UnsafePointer<Float>, tokens t: Int, layer a: Activations.Layer,
                                  scratch s: BackwardScratch, grads: Gradients?, batch b: Int, workers: Int, keyScores: Bool,
                                  inputGradient: Bool = true, clsAttentionGradient: UnsafePointer<Float>? = nil) {
        precondition(inputGradient || grads == nil, "attentionBackward: parameter gradients need the input gradient")
        let c = config, p = views
        let d = c.dim, inner = c.innerDim, h = c.heads
        let rows = b * t
        let x = SendablePointer(UnsafeMutablePointer(mutating: input))
        let bp = p.blocks[l]
        let gb = grads?.views.blocks[l]
        // Attention output projection: d attOut = d res1 @ Wproj.
        Parallel.chunks(rows, workers: workers) { r in
            let n = r.count, o = r.lowerBound
            Linear.backwardInput(dinp: s.dattOut + o * inner, dout: s.dres1 + o * d, weight: bp.projW, rows: n,
                                 inFeatures: inner, outFeatures: d, accumulate: false, packed: packed(l)?.projT)
        }
        if let gb {
            Parallel.chunks(d, workers: workers) { f in
                Linear.backwardParams(dweight: gb.projW, dbias: gb.projB, dout: s.dres1, inp: a.attOut, rows: rows,
                                      inFeatures: inner, outFeatures: d, features: f)
            }
        }
        let cls = clsAttentionGradient.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        // Attention core, per (image, head).
        Parallel.indexedChunks(b * h, workers: workers) { w, r in
            for job in r {
                let img = job / h, head = job % h
                Attention.backwardHead(dqkv: s.dqkv + img * t * 3 * inner, dA: s.datt + job * t * t,
                                       dS: s.dS + w * t * t, keyScores: keyScores ? s.keyScores + job * t : nil,
                                       dout: s.dattOut + img * t * inner, att: a.att + job * t * t,
                                       qkv: a.qkv + img * t * 3 * inner, head: head, tokens: t, heads: h,
                                       headDim: c.headDim, scale: c.attentionScale, qkvGradient: inputGradient,
                                       clsRowGradient: cls.map { UnsafePointer($0.p + img * t) })
            }
        }
        if !inputGradient { return }
        // qkv projection and LN1; the block input gets the residual (d res1) plus LN1's gradient.
        Parallel.chunks(rows, workers: workers) { r in
            let n = r.count, o = r.lowerBound
            Linear.backwardInput(dinp: s.dln + o * d, dout: s.dqkv + o * 3 * inner, weight: bp.qkvW, rows: n,
                                 inFeatures: d, outFeatures: 3 * inner, accumulate: false, packed: packed(l)?.qkvT)
            (s.dres + o * d).update(from: s.dres1 + o * d, count: n * d)
            LayerNorm.backwardInput(dinp: s.dres + o * d, dout: s.dln + o * d, inp: x.p + o * d,
                                    mean: a.ln1Mean + o, rstd: a.ln1Rstd + o, weight: bp.norm1W, rows: n, d: d)
        }
        if let gb {
            Parallel.chunks(3 * inner, workers: workers) { f in
                Linear.backwardParams(dweight: gb.qkvW, dbias: gb.qkvB, dout: s.dqkv, inp: a.ln1, rows: rows,
                                      inFeatures: d, outFeatures: 3 * inner, features: f)
            }
            Parallel.chunks(d, workers: workers) { f in
                LayerNorm.backwardParams(dweight: gb.norm1W, dbias: gb.norm1B, dout: s.dln, inp: x.p,
                                         mean: a.ln1Mean, rstd: a.ln1Rstd, rows: rows, d: d, features: f)
            }
        }
    }

    /// Embedding backward: `s.dres` holds d x0 [B, T, D]; accumulates pos_embed, CLS/DIST and patch
    /// embedding gradients.
    public func embedBackward(_ acts: Activations, scratch s: BackwardScratch, grads g: Gradients, batch b: Int, workers: Int) {
        let c = config, gv = g.views
        let t = c.tokens, d = c.dim, pre = c.prefixTokens
        let np = c.numPatches, kk = c.patchDim
        for i in 0..<b {
            let dx = s.dres + i * t * d
            for e in 0..<(t * d) { gv.pos[e] += dx[e] }
            for e in 0..<d { gv.cls[e] += dx[e] }
            if let gd = gv.dist { for e in 0..<d { gd[e] += dx[d + e] } }
        }
        Parallel.chunks(d, workers: workers) { f in
            for i in 0..<b {
                Linear.backwardParams(dweight: gv.patchW, dbias: gv.patchB, dout: s.dres + (i * t + pre) * d,
                                      inp: acts.patches + i * np * kk, rows: np, inFeatures: kk, outFeatures: d, features: f)
            }
        }
    }
}
