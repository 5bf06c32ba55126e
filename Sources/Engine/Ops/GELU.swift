/// GELU with the exact erf form, as timm's `nn.GELU()` (approximate='none'):
///
///     inp, out [n]      out = 0.5 * x * (1 + erf(x / sqrt(2)))
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n {
            let x = inp[i]
            out[i] = 0.5 * x * (1 + FastMath.erf(x * 0.70710678118654752))
        }
    }
}
