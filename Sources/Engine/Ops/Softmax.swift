import RealModule

/// Row-wise softmax in place, numerically stable (subtract the row max).
///
///     x [rows, n]       x[r, :] = exp(x[r, :] - max) / sum(exp(x[r, :] - max))
public enum Softmax {
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for r in 0..<rows {
            let row = x + r * n
            var m = -Float.infinity
            for j in 0..<n { m = Swift.max(m, row[j]) }
            var s: Float = 0
            for j in 0..<n {
                let e = FastMath.exp(row[j] - m)
                row[j] = e
                s = Relaxed.sum(s, e)
            }
            let inv = 1 / s
            for j in 0..<n { row[j] *= inv }
        }
    }
}
