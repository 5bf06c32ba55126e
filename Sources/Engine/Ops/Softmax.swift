import CKernels

/// Row-wise softmax, numerically stable (subtract the row max).
///
///     x [rows, n]       x[r, :] = exp(x[r, :] + bias - max) / sum(exp(x[r, :] + bias - max))
///     backward          dx = a * (da - sum_j(da_j * a_j))      (a = softmax output)
///
/// Both run in C (CKernels), vectorized for the CPU at hand; the exp is the kernels' own polynomial.
public enum Softmax {
    /// `keyBias` [n], when given, is added to every row first (ToMe's proportional attention).
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                      keyBias: UnsafePointer<Float>? = nil) {
        ts_softmax_rows(x, rows, n, keyBias)
    }

    /// dx [rows, n] = a * (da - rowsum(da * a)); dx must not alias da or a. With `keySums` [n],
    /// also keySums[j] += sum over rows of da * a (the gradient-weighted attention score terms).
    public static func backward(dx: UnsafeMutablePointer<Float>, da: UnsafePointer<Float>, a: UnsafePointer<Float>,
                                rows: Int, n: Int, keySums: UnsafeMutablePointer<Float>? = nil) {
        ts_softmax_backward_rows(dx, da, a, rows, n, keySums)
    }
}
