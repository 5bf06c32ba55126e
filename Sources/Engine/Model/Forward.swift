/// The ViT forward pass: patch embedding, blocks, final norm and head, on a batch of images.
///
///     images [B, C, S, S] (preprocessed)  ->  logits [B, classes]
///
/// Parallelism: the engine runs its own `workers` (one per core) over disjoint rows, heads or
/// images, and each calls a 1-thread GEMM. Measured here this beats one 2-thread GEMM at a time on
/// ViT-sized matrices (M = 197 rows per image), and it never runs 2 BLAS threads inside 2 workers.
public struct ForwardCapture: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Each block's attention probabilities [B, H, T, T].
    public static let attention = ForwardCapture(rawValue: 1)
    /// Each block's output tokens [B, T, D].
    public static let tokens = ForwardCapture(rawValue: 2)
}

/// What a capturing forward pass hands back besides the logits.
public struct ForwardResult: Sendable {
    public var logits: Tensor
    public var attention: [Tensor] = []
    public var tokens: [Tensor] = []
    public init(logits: Tensor, attention: [Tensor] = [], tokens: [Tensor] = []) {
        self.logits = logits; self.attention = attention; self.tokens = tokens
    }
}

extension ViTModel {
    /// Convenience: runs `batch` images in chunks of at most `chunk` (so memory stays bounded for
    /// large batches), and copies out the logits and whatever `capture` asks for, concatenated over
    /// the batch.
    public func forward(images: [Float], batch: Int, capture: ForwardCapture = [], workers: Int = 2, chunk: Int = 32) -> ForwardResult {
        let c = config
        let per = c.channels * c.imageSize * c.imageSize
        precondition(images.count == batch * per, "forward: \(images.count) floats for \(batch) images")
        let t = c.tokens, attSize = c.heads * t * t, tokSize = t * c.dim
        let chunk = max(1, min(chunk, batch))
        let acts = Activations(config: c, batch: chunk, keepAllLayers: false)
        var logits = [Float]()
        logits.reserveCapacity(batch * c.numClasses)
        var att = [[Float]](repeating: [], count: capture.contains(.attention) ? c.depth : 0)
        var tok = [[Float]](repeating: [], count: capture.contains(.tokens) ? c.depth : 0)
        images.withUnsafeBufferPointer { buf in
            var start = 0
            while start < batch {
                let b = min(chunk, batch - start)
                forward(acts, images: buf.baseAddress! + start * per, batch: b, workers: workers) { layer, a in
                    if !att.isEmpty { att[layer] += UnsafeBufferPointer(start: a.att, count: b * attSize) }
                    if !tok.isEmpty { tok[layer] += UnsafeBufferPointer(start: a.res2, count: b * tokSize) }
                }
                logits += UnsafeBufferPointer(start: acts.logits, count: b * c.numClasses)
                start += b
            }
        }
        return ForwardResult(logits: Tensor(shape: [batch, c.numClasses], data: logits),
                             attention: att.map { Tensor(shape: [batch, c.heads, t, t], data: $0) },
                             tokens: tok.map { Tensor(shape: [batch, t, c.dim], data: $0) })
    }

    /// The forward pass into preallocated activations. `afterBlock`, when given, sees each block's
    /// tensors right after the block ran (before a shared buffer is reused).
    public func forward(_ acts: Activations, images: UnsafePointer<Float>, batch b: Int, workers: Int = 2,
                        afterBlock: ((Int, Activations.Layer) -> Void)? = nil) {
        precondition(b <= acts.batch && acts.config == config, "forward: activations sized for another model or batch")
        let workers = max(1, workers)
        BLAS.useOneThreadPerWorker()
        embed(acts, images: images, batch: b, workers: workers)
        let t = config.tokens, depth = config.depth
        if wholeImages(batch: b, workers: workers) {
            for l in 0..<depth {
                blockForward(l, input: acts.input(ofLayer: l), tokens: t, into: acts.layers[l], batch: b, workers: workers)
                afterBlock?(l, acts.layers[l])
            }
        } else {
            // Rows split over the workers: rows are independent until attention, so each worker's
            // rows go from one block's MLP straight into the next block's LN1 and qkv, and a block
            // costs two synchronisations instead of three. (`afterBlock` sees block l's attention
            // and output intact; with shared buffers its ln1 and qkv already hold block l + 1's.)
            let x0 = SendablePointer(acts.x0)
            Parallel.chunks(b * t, workers: workers) { r in qkvRows(0, r, input: x0.p, into: acts.layers[0]) }
            for l in 0..<depth {
                let a = acts.layers[l], next = l + 1 < depth ? acts.layers[l + 1] : nil
                attentionHeads(l, tokens: t, into: a, batch: b, workers: workers, keyBias: nil)
                let x = SendablePointer(acts.input(ofLayer: l))
                Parallel.chunks(b * t, workers: workers) { r in
                    projRows(l, r, input: x.p, into: a)
                    mlpRows(l, r, input: a.res1, into: a)
                    if let next { qkvRows(l + 1, r, input: a.res2, into: next) }
                }
                afterBlock?(l, a)
            }
        }
        head(acts, last: acts.layers[depth - 1].res2, tokens: t, batch: b)
    }

    /// One transformer block on `t` tokens per image (t <= config.tokens: token-compression methods
    /// run blocks on fewer tokens), writing every intermediate into `a` and the output into `a.res2`.
    ///
    ///     x [B, t, D] -> res1 = x + proj(attn(LN1(x))) -> res2 = res1 + fc2(GELU(fc1(LN2(res1))))
    ///
    /// The same work as `attentionForward` then `mlpForward`, but the proj and MLP rows run in one
    /// parallel phase (3 synchronisations per block instead of 4): the dense path stays as fast as
    /// before the split. Call with BLAS at 1 thread when workers > 1 (`forward` does it).
    public func blockForward(_ l: Int, input: UnsafePointer<Float>, tokens t: Int, into a: Activations.Layer,
                             batch b: Int, workers: Int) {
        if wholeImages(batch: b, workers: workers) {
            let x = SendablePointer(UnsafeMutablePointer(mutating: input))
            Parallel.chunks(b, workers: workers) { images in
                for i in images {
                    let rows = (i * t)..<((i + 1) * t)
                    attentionImage(l, i, input: x.p, tokens: t, into: a, keyBias: nil)
                    projRows(l, rows, input: x.p, into: a)
                    mlpRows(l, rows, input: a.res1, into: a)
                }
            }
            return
        }
        attentionCore(l, input: input, tokens: t, into: a, batch: b, workers: workers, keyBias: nil)
        let x = SendablePointer(UnsafeMutablePointer(mutating: input))
        let res1 = SendablePointer(a.res1)
        Parallel.chunks(b * t, workers: workers) { r in
            projRows(l, r, input: x.p, into: a)
            mlpRows(l, r, input: res1.p, into: a)
        }
    }

    /// The attention half of block l on `t` tokens per image, into `a.res1`:
    ///
    ///     x [B, t, D] -> res1 [B, t, D] = x + proj(attn(LN1(x)))     (a.qkv and a.att kept)
    ///
    /// `keyBias` [B, t], when given, is added to every query's logits for key j of image i before the
    /// softmax, in every head (ToMe's proportional attention: log of each token's size). Token
    /// reduction methods run this, reduce `a.res1`, then `mlpForward` on fewer tokens.
    public func attentionForward(_ l: Int, input: UnsafePointer<Float>, tokens t: Int, into a: Activations.Layer,
                                 batch b: Int, workers: Int, keyBias: UnsafePointer<Float>? = nil) {
        if wholeImages(batch: b, workers: workers) {
            let x = SendablePointer(UnsafeMutablePointer(mutating: input))
            let bias = keyBias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
            Parallel.chunks(b, workers: workers) { images in
                for i in images {
                    attentionImage(l, i, input: x.p, tokens: t, into: a, keyBias: bias.map { UnsafePointer($0.p + i * t) })
                    projRows(l, (i * t)..<((i + 1) * t), input: x.p, into: a)
                }
            }
            return
        }
        attentionCore(l, input: input, tokens: t, into: a, batch: b, workers: workers, keyBias: keyBias)
        let x = SendablePointer(UnsafeMutablePointer(mutating: input))
        Parallel.chunks(b * t, workers: workers) { r in projRows(l, r, input: x.p, into: a) }
    }

    /// The MLP half of block l on `t` tokens per image, into `a.res2`:
    ///
    ///     x [B, t, D] -> res2 [B, t, D] = x + fc2(GELU(fc1(LN2(x))))
    ///
    /// `input` may be `a.res1` (the dense order) or any other buffer, e.g. the tokens left after a
    /// reduction; it must not be `a.res2`.
    public func mlpForward(_ l: Int, input: UnsafePointer<Float>, tokens t: Int, into a: Activations.Layer,
                           batch b: Int, workers: Int) {
        let x = SendablePointer(UnsafeMutablePointer(mutating: input))
        Parallel.chunks(b * t, workers: workers) { r in mlpRows(l, r, input: x.p, into: a) }
    }

    /// Whether each worker takes whole images through a block (one synchronisation per block instead
    /// of three, and an image's activations stay in its core's cache: batch 32 runs faster per image
    /// than batch 1) rather than splitting every image's rows and heads over the workers. Taken when
    /// the images divide evenly over the workers, or are many enough that one image more on some
    /// worker costs little.
    @inline(__always)
    func wholeImages(batch b: Int, workers: Int) -> Bool { workers > 1 && (b % workers == 0 || b >= 4 * workers) }

    /// Block l's LN1, qkv and attention for image i alone, on the calling thread.
    @inline(__always)
    private func attentionImage(_ l: Int, _ i: Int, input x: UnsafePointer<Float>, tokens t: Int, into a: Activations.Layer,
                                keyBias: UnsafePointer<Float>?) {
        let c = config
        let inner = c.innerDim, h = c.heads, o = i * t
        qkvRows(l, o..<(o + t), input: x, into: a)
        for head in 0..<h {
            Attention.forwardHead(out: a.attOut + o * inner, att: a.att + (i * h + head) * t * t,
                                  qkv: a.qkv + o * 3 * inner, head: head, tokens: t, queries: 0..<t,
                                  heads: h, headDim: c.headDim, scale: c.attentionScale, keyBias: keyBias)
        }
    }

    /// LN1 and qkv (rows in parallel), then attention ((image, head, query block) jobs in parallel).
    private func attentionCore(_ l: Int, input: UnsafePointer<Float>, tokens t: Int, into a: Activations.Layer,
                               batch b: Int, workers: Int, keyBias: UnsafePointer<Float>?) {
        let x = SendablePointer(UnsafeMutablePointer(mutating: input))
        Parallel.chunks(b * t, workers: workers) { r in qkvRows(l, r, input: x.p, into: a) }
        attentionHeads(l, tokens: t, into: a, batch: b, workers: workers, keyBias: keyBias)
    }

    /// ln1 = LN1(x) and qkv = ln1 @ Wqkv^T + b for the rows `r`.
    @inline(__always)
    private func qkvRows(_ l: Int, _ r: Range<Int>, input x: UnsafePointer<Float>, into a: Activations.Layer) {
        let c = config, d = c.dim, inner = c.innerDim, bp = views.blocks[l]
        let n = r.count, o = r.lowerBound
        LayerNorm.forward(out: a.ln1 + o * d, mean: a.ln1Mean + o, rstd: a.ln1Rstd + o, inp: x + o * d,
                          weight: bp.norm1W, bias: bp.norm1B, rows: n, d: d, eps: c.lnEps)
        Linear.forward(out: a.qkv + o * 3 * inner, inp: a.ln1 + o * d, weight: bp.qkvW, bias: bp.qkvB,
                       rows: n, inFeatures: d, outFeatures: 3 * inner, packed: packed(l)?.qkv)
    }

    /// Attention for every (image, head) from `a.qkv`, into `a.att` and `a.attOut`.
    private func attentionHeads(_ l: Int, tokens t: Int, into a: Activations.Layer, batch b: Int, workers: Int,
                                keyBias: UnsafePointer<Float>?) {
        let c = config
        let inner = c.innerDim, h = c.heads
        // Queries are split only when there are too few (image, head) pairs to keep every worker busy.
        let splits = b * h >= 4 * workers ? 1 : workers
        let bias = keyBias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        Parallel.chunks(b * h * splits, workers: workers) { r in
            for job in r {
                let pair = job / splits, part = job % splits
                let img = pair / h, head = pair % h
                Attention.forwardHead(out: a.attOut + img * t * inner, att: a.att + (img * h + head) * t * t,
                                      qkv: a.qkv + img * t * 3 * inner, head: head, tokens: t,
                                      queries: (t * part / splits)..<(t * (part + 1) / splits),
                                      heads: h, headDim: c.headDim, scale: c.attentionScale,
                                      keyBias: bias.map { UnsafePointer($0.p + img * t) })
            }
        }
    }

    /// res1 = x + proj(attOut) for the rows `r` (flattened image * t + token).
    @inline(__always)
    private func projRows(_ l: Int, _ r: Range<Int>, input x: UnsafePointer<Float>, into a: Activations.Layer) {
        let d = config.dim, inner = config.innerDim, bp = views.blocks[l]
        let n = r.count, o = r.lowerBound
        Linear.forward(out: a.res1 + o * d, inp: a.attOut + o * inner, weight: bp.projW, bias: bp.projB,
                       rows: n, inFeatures: inner, outFeatures: d, residual: x + o * d, packed: packed(l)?.proj)
    }

    /// res2 = x + fc2(GELU(fc1(LN2(x)))) for the rows `r`.
    @inline(__always)
    private func mlpRows(_ l: Int, _ r: Range<Int>, input x: UnsafePointer<Float>, into a: Activations.Layer) {
        let c = config
        let d = c.dim, m = c.mlpDim, bp = views.blocks[l]
        let n = r.count, o = r.lowerBound
        LayerNorm.forward(out: a.ln2 + o * d, mean: a.ln2Mean + o, rstd: a.ln2Rstd + o, inp: x + o * d,
                          weight: bp.norm2W, bias: bp.norm2B, rows: n, d: d, eps: c.lnEps)
        if !a.forBackward, let fc1 = packed(l)?.fc1,
           fc1.run(out: a.gelu + o * m, inp: a.ln2 + o * d, rows: n, epilogue: .biasGELU, bias: bp.fc1B) {
            // Inference: bias and GELU ran inside the product; fc1's input to GELU is not kept.
        } else {
            Linear.forward(out: a.fc1 + o * m, inp: a.ln2 + o * d, weight: bp.fc1W, bias: nil,
                           rows: n, inFeatures: d, outFeatures: m, packed: packed(l)?.fc1)
            GELU.forwardAddingBias(out: a.gelu + o * m, pre: a.fc1 + o * m, bias: bp.fc1B, rows: n, n: m)
        }
        Linear.forward(out: a.res2 + o * d, inp: a.gelu + o * m, weight: bp.fc2W, bias: bp.fc2B,
                       rows: n, inFeatures: m, outFeatures: d, residual: x + o * d, packed: packed(l)?.fc2)
    }

    /// im2col + GEMM per image straight into the token rows, then CLS/DIST and pos_embed.
    public func embed(_ acts: Activations, images: UnsafePointer<Float>, batch b: Int, workers: Int) {
        let c = config, p = views
        let t = c.tokens, d = c.dim, np = c.numPatches, k = c.patchDim, pre = c.prefixTokens
        let imgSize = c.channels * c.imageSize * c.imageSize
        let imgs = SendablePointer(UnsafeMutablePointer(mutating: images))
        // Work items are (image, block of patch rows): whole images when the batch keeps every
        // worker busy, otherwise each image's patches are split too (batch 1).
        let parts = b >= workers ? 1 : workers
        Parallel.chunks(b * parts, workers: workers) { r in
            for job in r {
                let i = job / parts, part = job % parts
                let rows = (np * part / parts)..<(np * (part + 1) / parts)
                let patches = acts.patches + i * np * k
                PatchEmbed.im2col(patches: patches, img: imgs.p + i * imgSize, channels: c.channels,
                                  imageSize: c.imageSize, patch: c.patchSize, patchRange: rows)
                let x = acts.x0 + i * t * d
                // Rows start as bias + pos_embed so the GEMM accumulates onto them.
                if part == 0 {
                    x.update(from: p.cls, count: d)
                    if let dist = p.dist { (x + d).update(from: dist, count: d) }
                    for j in 0..<pre { for e in 0..<d { x[j * d + e] += p.pos[j * d + e] } }
                }
                for j in rows {
                    let row = x + (pre + j) * d, pos = p.pos + (pre + j) * d
                    for e in 0..<d { row[e] = p.patchB[e] + pos[e] }
                }
                BLAS.sgemm(transB: true, m: rows.count, n: d, k: k, a: patches + rows.lowerBound * k, lda: k, b: p.patchW, ldb: k,
                           beta: 1, c: x + (pre + rows.lowerBound) * d, ldc: d)
            }
        }
    }

    /// Final LayerNorm on the prefix tokens only (LayerNorm is per token, and the head reads only
    /// CLS, plus DIST for distilled DeiT, whose logits are the average of the two heads).
    /// `last` [B, t, D] is the last block's output; its first `prefix` rows per image are read.
    public func head(_ acts: Activations, last: UnsafePointer<Float>, tokens t: Int, batch b: Int) {
        let c = config, p = views
        let d = c.dim, pre = c.prefixTokens, k = c.numClasses
        for i in 0..<b {
            LayerNorm.forward(out: acts.lnf + i * pre * d, mean: acts.lnfMean + i * pre, rstd: acts.lnfRstd + i * pre,
                              inp: last + i * t * d, weight: p.normW, bias: p.normB, rows: pre, d: d, eps: c.lnEps)
        }
        // logits [B, K] = lnf[:, 0] @ head^T + b   (lda = pre * D picks the CLS row of each image)
        for i in 0..<b { (acts.logits + i * k).update(from: p.headB, count: k) }
        BLAS.sgemm(transB: true, m: b, n: k, k: d, a: acts.lnf, lda: pre * d, b: p.headW, ldb: d,
                   beta: 1, c: acts.logits, ldc: k)
        if let hw = p.headDistW, let hb = p.headDistB {
            // Distilled DeiT at inference: (head(cls) + head_dist(dist)) / 2.
            for i in 0..<b {
                let o = acts.logits + i * k
                for j in 0..<k { o[j] = 0.5 * (o[j] + hb[j]) }
            }
            BLAS.sgemm(transB: true, m: b, n: k, k: d, alpha: 0.5, a: acts.lnf + d, lda: pre * d, b: hw, ldb: d,
                       beta: 1, c: acts.logits, ldc: k)
        }
    }
}
