/// Multi-head self-attention core (the part between the qkv and proj Linears), as timm computes it.
///
///     qkv  [T, 3*I]    column s*I + h*hd + d is {q,k,v}[s], head h, dim d (I = H * hd)
///     att  [H, T, T]   softmax(scale * q k^T) over keys, kept for the backward pass and the scores
///     out  [T, I]      column h*hd + d: att @ v for head h
///
/// One image, one head and a range of query rows per call, so callers can spread the work evenly
/// over cores (at batch 1 DeiT-Tiny has only 3 heads for 2 cores).
/// The inner width I may differ from the model width D (the official PM code fixes hd = 64).
public enum Attention {
    public static func forwardHead(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                                   qkv: UnsafePointer<Float>, head h: Int, tokens t: Int, queries: Range<Int>,
                                   heads: Int, headDim hd: Int, scale: Float) {
        let inner = heads * hd, q0 = queries.lowerBound, nq = queries.count
        let q = qkv + q0 * 3 * inner + h * hd, k = qkv + inner + h * hd, v = qkv + 2 * inner + h * hd
        let a = att + q0 * t
        BLAS.sgemm(transB: true, m: nq, n: t, k: hd, alpha: scale, a: q, lda: 3 * inner, b: k, ldb: 3 * inner,
                   beta: 0, c: a, ldc: t)
        Softmax.forwardInPlace(a, rows: nq, n: t)
        BLAS.sgemm(m: nq, n: hd, k: t, a: a, lda: t, b: v, ldb: 3 * inner, beta: 0, c: out + q0 * inner + h * hd, ldc: inner)
    }
}
