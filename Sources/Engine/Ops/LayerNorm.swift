import RealModule

/// LayerNorm over the last dimension, as timm's ViT uses it (biased variance, eps 1e-6).
///
///     inp  [rows, D]     weight, bias [D]
///     out  [rows, D]     mean, rstd [rows]   (kept for the backward pass)
///     out = (inp - mean) * rstd * weight + bias,  rstd = 1 / sqrt(var + eps)
public enum LayerNorm {
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, d: Int, eps: Float) {
        let invD = 1 / Float(d)
        for r in 0..<rows {
            let x = inp + r * d
            var s: Float = 0
            for i in 0..<d { s = Relaxed.sum(s, x[i]) }
            let m = s * invD
            var v: Float = 0
            for i in 0..<d {
                let c = x[i] - m
                v = Relaxed.multiplyAdd(c, c, v)
            }
            let rs = 1 / (v * invD + eps).squareRoot()
            let o = out + r * d
            for i in 0..<d { o[i] = (x[i] - m) * rs * weight[i] + bias[i] }
            mean[r] = m
            rstd[r] = rs
        }
    }
}
