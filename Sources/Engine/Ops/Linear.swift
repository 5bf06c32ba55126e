import CKernels

/// A PyTorch Linear layer on row-major activations, one GEMM per call.
///
///     inp [rows, IN]     weight [OUT, IN] (PyTorch layout, used transposed)     bias [OUT]
///     out [rows, OUT] = inp @ weight^T + bias (+ residual)
///
/// The backward pass comes in two halves so each can be split over workers without races:
/// the input gradient by rows, the weight and bias gradients by output features.
public enum Linear {
    /// `residual` [rows, OUT], when given, is added too (a block's skip connection). On a packed weight
    /// with a bias, bias and residual are read in the product's epilogue; otherwise the output
    /// starts as residual + bias in one vectorized pass and the GEMM accumulates onto it (beta = 1).
    /// `bias: nil, residual: nil` runs the GEMM alone (beta = 0), for callers that fuse the bias
    /// into what follows (fc1's bias and GELU). `packed`, the same weight prepacked, runs the
    /// product on oneDNN's matmul primitive instead of the GEMM.
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inFeatures: Int, outFeatures: Int, residual: UnsafePointer<Float>? = nil,
                               packed: PackedWeight? = nil) {
        if let packed, let bias, residual.map({ UnsafeMutablePointer(mutating: $0) != out }) ?? true,
           packed.run(out: out, inp: inp, rows: rows, epilogue: residual == nil ? .bias : .biasResidual,
                      bias: bias, residual: residual) {
            return
        }
        let prefill = bias != nil || residual != nil
        if prefill { ts_rows_set_bias(out, residual, bias, rows, outFeatures) }
        if let packed, packed.run(out: out, inp: inp, rows: rows, epilogue: prefill ? .accumulate : .store) { return }
        BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: inp, lda: inFeatures,
                   b: weight, ldb: inFeatures, beta: prefill ? 1 : 0, c: out, ldc: outFeatures)
    }

    /// dinp [rows, IN] (+)= dout [rows, OUT] @ weight [OUT, IN]. In the forward pass this was
    /// out = inp @ W^T, so d inp = d out @ W. `accumulate` adds (a residual branch already there).
    /// `packed`: the weight packed for this product (`.inputGradient`).
    public static func backwardInput(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
                                     accumulate: Bool, packed: PackedWeight? = nil) {
        if let packed, packed.run(out: dinp, inp: dout, rows: rows, epilogue: accumulate ? .accumulate : .store) { return }
        BLAS.sgemm(m: rows, n: inFeatures, k: outFeatures, a: dout, lda: outFeatures, b: weight, ldb: inFeatures,
                   beta: accumulate ? 1 : 0, c: dinp, ldc: inFeatures)
    }

    /// dweight[features, :] += dout[:, features]^T @ inp, dbias[features] += sum over rows of
    /// dout[:, features], for a slice of output features (so workers never share a weight row).
    public static func backwardParams(dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                                      dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, rows: Int,
                                      inFeatures: Int, outFeatures: Int, features: Range<Int>) {
        let f0 = features.lowerBound, nf = features.count
        if nf == 0 { return }
        BLAS.sgemm(transA: true, m: nf, n: inFeatures, k: rows, a: dout + f0, lda: outFeatures, b: inp, ldb: inFeatures,
                   beta: 1, c: dweight + f0 * inFeatures, ldc: inFeatures)
        if let dbias {
            for r in 0..<rows {
                let d = dout + r * outFeatures + f0
                let b = dbias + f0
                for j in 0..<nf { b[j] += d[j] }
            }
        }
    }
}
