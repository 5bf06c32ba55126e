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

    /// Turns d out into d inp in place (the MLP's backward reuses one buffer for both).
    public static func backwardInPlace(grad: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        ts_gelu_backward_inplace(grad, inp, n)
    }
}
