import CKernels

/// GELU with the exact erf form, as timm's `nn.GELU()` (approximate='none'):
///
///     inp, out [n]      out = 0.5 * x * (1 + erf(x / sqrt(2)))
///     backward          grad *= (0.5 (1 + erf(x / sqrt 2)) + x * exp(-x^2 / 2) / sqrt(2 pi))
///
/// The loops run in C (CKernels), vectorized for the CPU at hand; the maths is FastMath's.
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        ts_gelu_forward(out, inp, n)
    }

    /// pre [rows, n] += bias, then out = GELU(pre): fc1's bias and activation in one pass over its
    /// output (pre is kept: the backward pass differentiates GELU at it).
    public static func forwardAddingBias(out: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>,
                                         bias: UnsafePointer<Float>, rows: Int, n: Int) {
        ts_bias_gelu_rows(pre, out, bias, rows, n)
    }

    /// Turns d out into d inp in place (the MLP's backward reuses one buffer for both).
    public static func backwardInPlace(grad: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        ts_gelu_backward_inplace(grad, inp, n)
    }
}
