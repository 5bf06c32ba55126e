import CKernels

/// GELU with the exact erf form, as timm's `nn.GELU()` (approximate='none'):
///
///     inp, out [n]      out = 0.5 * x * (1 + erf(x / sqrt(2)))
/// The loop runs in C (CKernels), vectorized for the CPU at hand; the maths is FastMath.erf's.
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        ts_gelu_forward(out, inp, n)
    }
}
