/// A PyTorch Linear layer on row-major activations, one `cblas_sgemm` per call.
///
///     inp [rows, IN]     weight [OUT, IN] (PyTorch layout, used transposed)     bias [OUT]
///     out [rows, OUT] = inp @ weight^T + bias          (accumulate: out += ... instead)
public enum Linear {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        // Fold the bias into C so the GEMM adds onto it (beta = 1): one pass over the output.
        if let bias {
            for r in 0..<rows {
                let o = out + r * outFeatures
                if accumulate {
                    for j in 0..<outFeatures { o[j] += bias[j] }
                } else {
                    for j in 0..<outFeatures { o[j] = bias[j] }
                }
            }
        }
        let beta: Float = (bias != nil || accumulate) ? 1 : 0
        BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: inp, lda: inFeatures,
                   b: weight, ldb: inFeatures, beta: beta, c: out, ldc: outFeatures)
    }
}
