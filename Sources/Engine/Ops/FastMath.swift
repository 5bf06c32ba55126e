/// Vectorizable exp and erf for the elementwise ops (softmax, GELU).
///
/// Why not Glibc's `expf`/`erff`: they are scalar calls (3 and 15 ns per element here), and GELU
/// with `erff` would cost more per block than that block's GEMMs. These versions use only
/// arithmetic and bit operations the compiler can vectorize:
/// - `fastExp`: Cephes' expf (range reduction by n*ln2 in two parts, degree-6 polynomial),
///   2^n built in the exponent bits. Relative error about 2 ulp; inputs below -87.3 give 0.
/// - `fastErf`: Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7 absolute (so GELU within 5e-7 of the
///   exact erf GELU that timm uses, checked against Double in the tests).
/// Rounding to the nearest integer uses the 1.5*2^23 "magic number" add instead of a trapping
/// Float->Int conversion, which would block vectorization.
public enum FastMath {
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.3), 88.7)
        let magic: Float = 12582912  // 1.5 * 2^23
        let t = xc * 1.44269504088896341 + magic
        let n = t - magic                       // round(x / ln 2)
        var r = xc - n * 0.693359375
        r = r - n * (-2.12194440e-4)
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        // n sits in the low mantissa bits of t; build 2^n as (n + 127) << 23.
        let ni = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
        let scale = Float(bitPattern: UInt32(bitPattern: (ni &+ 127) &<< 23))
        let result = y * scale
        return x < -87.3 ? 0 : result
    }

    @inline(__always)
    public static func erf(_ x: Float) -> Float {
        let ax = Swift.abs(x)
        let t = 1 / (1 + 0.3275911 * ax)
        var p: Float = 1.061405429
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * exp(-ax * ax)
        return x < 0 ? -y : y
    }
}
