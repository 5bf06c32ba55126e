import CKernels

/// LayerNorm over the last dimension, as timm's ViT uses it (biased variance, eps 1e-6).
///
///     inp  [rows, D]     weight, bias [D]
///     out  [rows, D]     mean, rstd [rows]   (kept for the backward pass)
///     out = (inp - mean) * rstd * weight + bias,  rstd = 1 / sqrt(var + eps)
///
/// Backward, like Linear, in two halves: the input gradient by rows, weight and bias by features.
/// The row loops run in C (CKernels), vectorized for the CPU at hand.
public enum LayerNorm {
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, d: Int, eps: Float) {
        ts_layernorm_rows(out, mean, rstd, inp, weight, bias, rows, d, eps)
    }

    /// dinp += rstd * (g - mean(g) - n * mean(g * n)), where n = (x - mean) * rstd is the normalised
    /// input and g = dout * weight. (Differentiate out = n * w + b through n's mean and variance.)
    public static func backwardInput(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                     inp: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, rows: Int, d: Int) {
        ts_layernorm_backward_rows(dinp, dout, inp, mean, rstd, weight, rows, d)
    }

    /// dweight[j] += sum_r dout[r, j] * n[r, j];  dbias[j] += sum_r dout[r, j], for features j in a slice.
    public static func backwardParams(dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
                                      dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                                      rstd: UnsafePointer<Float>, rows: Int, d: Int, features: Range<Int>) {
        let f0 = features.lowerBound, nf = features.count
        if nf == 0 { return }
        let dw = dweight + f0, db = dbias + f0
        for r in 0..<rows {
            let x = inp + r * d + f0, g = dout + r * d + f0
            let m = mean[r], rs = rstd[r]
            for j in 0..<nf {
                dw[j] += g[j] * (x[j] - m) * rs
                db[j] += g[j]
            }
        }
    }
}
