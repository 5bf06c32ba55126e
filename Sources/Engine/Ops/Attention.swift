/// Multi-head self-attention core (the part between the qkv and proj Linears), as timm computes it.
///
///     qkv  [T, 3*I]    column s*I + h*hd + d is {q,k,v}[s], head h, dim d (I = H * hd)
///     att  [H, T, T]   softmax(scale * q k^T + bias) over keys, kept for the backward pass and the scores
///     keyBias [T]      optional, added to every query's logit for key j (ToMe's proportional
///                      attention: log of the token's size); nil is plain attention
///     out  [T, I]      column h*hd + d: att @ v for head h
///
/// One image, one head and a range of query rows per call, so callers can spread the work evenly
/// over cores (at batch 1 DeiT-Tiny has only 3 heads for 2 cores).
/// The inner width I may differ from the model width D (the official PM code fixes hd = 64).
public enum Attention {
    public static func forwardHead(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                                   qkv: UnsafePointer<Float>, head h: Int, tokens t: Int, queries: Range<Int>,
                                   heads: Int, headDim hd: Int, scale: Float, keyBias: UnsafePointer<Float>? = nil) {
        let inner = heads * hd, q0 = queries.lowerBound, nq = queries.count
        let q = qkv + q0 * 3 * inner + h * hd, k = qkv + inner + h * hd, v = qkv + 2 * inner + h * hd
        let a = att + q0 * t
        BLAS.sgemm(transB: true, m: nq, n: t, k: hd, alpha: scale, a: q, lda: 3 * inner, b: k, ldb: 3 * inner,
                   beta: 0, c: a, ldc: t)
        Softmax.forwardInPlace(a, rows: nq, n: t, keyBias: keyBias)
        BLAS.sgemm(m: nq, n: hd, k: t, a: a, lda: t, b: v, ldb: 3 * inner, beta: 0, c: out + q0 * inner + h * hd, ldc: inner)
    }

    /// Backward for one image and head. In the forward pass this was
    ///     S = scale q k^T;  A = softmax(S);  out = A v
    /// so: dA = dout v^T, dv = A^T dout, dS = A * (dA - rowsum(dA * A)), dq = scale dS k, dk = scale dS^T q.
    ///
    ///     dout  [T, I] (this head's columns are read)    dqkv [T, 3I] (this head's q, k, v columns are written)
    ///     dA    [T, T] written: d loss / d attention probabilities (kept for the scores)
    ///     dS    [T, T] scratch
    ///     keyScores [T] written: sum over queries of dA * A for each key (the gradient-weighted score terms)
    ///
    /// `clsRowGradient` [T], when given, is added to dA's first row (query CLS) before the softmax
    /// backward: a gradient reaching the probabilities from outside the product (EViT's fused token).
    /// `qkvGradient: false` stops at dA and the key scores (dqkv is not written): what the scores need
    /// of the first block, whose input gradient reaches no attention map.
    public static func backwardHead(dqkv: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
                                    dS: UnsafeMutablePointer<Float>, keyScores: UnsafeMutablePointer<Float>?,
                                    dout: UnsafePointer<Float>, att: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                                    head h: Int, tokens t: Int, heads: Int, headDim hd: Int, scale: Float,
                                    qkvGradient: Bool = true, clsRowGradient: UnsafePointer<Float>? = nil) {
        let inner = heads * hd
        let q = qkv + h * hd, k = qkv + inner + h * hd, v = qkv + 2 * inner + h * hd
        let dq = dqkv + h * hd, dk = dqkv + inner + h * hd, dv = dqkv + 2 * inner + h * hd
        let go = dout + h * hd
        BLAS.sgemm(transB: true, m: t, n: t, k: hd, a: go, lda: inner, b: v, ldb: 3 * inner, beta: 0, c: dA, ldc: t)
        if let g = clsRowGradient { for j in 0..<t { dA[j] += g[j] } }
        keyScores?.update(repeating: 0, count: t)
        Softmax.backward(dx: dS, da: dA, a: att, rows: t, n: t, keySums: keyScores)
        if !qkvGradient { return }
        BLAS.sgemm(transA: true, m: t, n: hd, k: t, a: att, lda: t, b: go, ldb: inner, beta: 0, c: dv, ldc: 3 * inner)
        BLAS.sgemm(m: t, n: hd, k: t, alpha: scale, a: dS, lda: t, b: k, ldb: 3 * inner, beta: 0, c: dq, ldc: 3 * inner)
        BLAS.sgemm(transA: true, m: t, n: hd, k: t, alpha: scale, a: dS, lda: t, b: q, ldb: 3 * inner, beta: 0, c: dk, ldc: 3 * inner)
    }
}
