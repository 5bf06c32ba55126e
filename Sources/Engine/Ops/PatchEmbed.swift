/// Patch embedding: the timm Conv2d (kernel = stride = patch) written as im2col + one GEMM.
///
///     img      [C, S, S]                 one image, CHW
///     patches  [G*G, C*p*p]              row = patch (raster order), column = (c, ky, kx)
///     weight   [D, C, p, p] = [D, C*p*p] (used transposed)
/// The GEMM writes straight into the token rows (see `ViTModel.embed`).
public enum PatchEmbed {
    /// Writes the rows of `patchRange` (all patches by default) into `patches` (row i at i * C*p*p).
    public static func im2col(patches: UnsafeMutablePointer<Float>, img: UnsafePointer<Float>,
                              channels c: Int, imageSize s: Int, patch p: Int, patchRange: Range<Int>? = nil) {
        let g = s / p
        let k = c * p * p
        for index in patchRange ?? 0..<(g * g) {
            let gy = index / g, gx = index % g
            let row = patches + index * k
            for ch in 0..<c {
                for ky in 0..<p {
                    let src = img + ch * s * s + (gy * p + ky) * s + gx * p
                    let dst = row + ch * p * p + ky * p
                    for kx in 0..<p { dst[kx] = src[kx] }
                }
            }
        }
    }
}
