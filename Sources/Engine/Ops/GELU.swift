import CKernels

/// GELU with the exact erf form, as timm's `nn.GELU()` (approximate='none'):
///
///     inp, out [n]      out = 0.5 * x * (1 + erf(x / sqrt(2)))
///     backward          dinp = dout * (0.5 (1 + erf(x / sqrt 2)) + x * exp(-x^2 / 2) / sqrt(2 pi))
///
/// The loops run in C (CKernels), vectorized for the CPU at hand; the maths is FastMath's.
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        ts_gelu_forward(out, inp, n)
    }

    /// Writes (not accumulates) dinp, which may be the same buffer as dout: the MLP's backward
    /// turns d gelu into d fc1 in place.
    public static func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count n: Int) {
        ts_gelu_backward(dinp, inp, dout, n)
    }
}
