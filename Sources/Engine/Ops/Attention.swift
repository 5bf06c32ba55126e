/// Multi-head self-attention core (the part between the qkv and proj Linears), as timm computes it.
///
///     qkv  [T, 3*I]    column s*I + h*hd + d is {q,k,v}[s], head h, dim d (I = H * hd)
///     att  [H, T, T]   softmax(scale * q k^T) over keys, kept for the backward pass and the scores
///     out  [T, I]      column h*hd + d: att @ v for head h
///
/// One image and one head per call, so callers can run heads of different images in parallel.
/// The inner width I may differ from the model width D (the official PM code fixes hd = 64).
public enum Attention {
    public static func forwardHead(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                                   qkv: UnsafePointer<Float>, head h: Int, tokens t: Int,
                                   heads: Int, headDim hd: Int, scale: Float) {
        let inner = heads * hd
        let q = qkv + h * hd, k = qkv + inner + h * hd, v = qkv + 2 * inner + h * hd
        BLAS.sgemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: 3 * inner, b: k, ldb: 3 * inner,
                   beta: 0, c: att, ldc: t)
        Softmax.forwardInPlace(att, rows: t, n: t)
        BLAS.sgemm(m: t, n: hd, k: t, a: att, lda: t, b: v, ldb: 3 * inner, beta: 0, c: out + h * hd, ldc: inner)
    }
}
