import CKernels
import RealModule

/// Row-wise softmax, numerically stable (subtract the row max).
///
///     x [rows, n]       x[r, :] = exp(x[r, :] - max) / sum(exp(x[r, :] - max))
///     backward          dx = a * (da - sum_j(da_j * a_j))      (a = softmax output)
///
/// The forward loop runs in C (CKernels), vectorized for the CPU at hand; the exp is FastMath.exp's.
public enum Softmax {
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        ts_softmax_rows(x, rows, n)
    }

    /// dx [rows, n] = a * (da - rowsum(da * a)). Writes dx (which may alias da).
    public static func backward(dx: UnsafeMutablePointer<Float>, da: UnsafePointer<Float>, a: UnsafePointer<Float>,
                                rows: Int, n: Int) {
        for r in 0..<rows {
            let g = da + r * n, p = a + r * n, o = dx + r * n
            var s: Float = 0
            for j in 0..<n { s = Relaxed.multiplyAdd(g[j], p[j], s) }
            for j in 0..<n { o[j] = p[j] * (g[j] - s) }
        }
    }
}
