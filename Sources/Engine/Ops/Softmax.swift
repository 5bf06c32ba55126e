import CKernels

/// Row-wise softmax in place, numerically stable (subtract the row max).
///
///     x [rows, n]       x[r, :] = exp(x[r, :] - max) / sum(exp(x[r, :] - max))
///
/// The loop runs in C (CKernels), vectorized for the CPU at hand; the exp is FastMath.exp's.
public enum Softmax {
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        ts_softmax_rows(x, rows, n)
    }
}
