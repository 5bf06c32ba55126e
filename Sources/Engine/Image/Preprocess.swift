// timm's eval transform for DeiT/ViT, reproduced bit for bit as PIL + torchvision compute it.
//
//   scale        = floor(inputSize / cropPct)                 timm transforms_imagenet_eval
//   resize       shorter side -> scale, longer -> int(scale * long / short)   torchvision Resize(int)
//                with Pillow's BICUBIC (Resample.c), on 8-bit pixels
//   center crop  top = int(round((h - size) / 2)), left likewise (Python round: half to even);
//                zero padding if the image is smaller than the crop (only when cropPct > 1)
//   to tensor    x / 255 (float32), then (x - mean[c]) / std[c]         ToTensor + Normalize
//   output       CHW float32, shape [channels, inputSize, inputSize]
// With channels == 1 the image is first converted to PIL 'L' (RGBImage.grayscale()), as timm
// does for a one-channel model, and the gray image is resized.
//
// Pillow's bicubic (src/libImaging/Resample.c), which this file follows exactly:
//   * kernel: Keys cubic with a = -0.5 (not PyTorch's -0.75), support 2 input pixels, widened to
//     2 * in/out when downscaling (so downscaling is antialiased);
//   * per output index i: center = (i + 0.5) * in/out, taps from int(center - support + 0.5)
//     to int(center + support + 0.5) clamped to the image, weight of tap x =
//     cubic((x - center + 0.5) / max(1, in/out)), weights divided by their sum, all in Double;
//   * weights to fixed point with 22 fractional bits (PRECISION_BITS = 32 - 8 - 2), rounded
//     half away from zero; accumulate in Int32 starting from 1 << 21 (rounding), >> 22, clip 0...255;
//   * two 1-D passes with an 8-bit intermediate: horizontal first, except vertical first when
//     inH - outH > 2 * (inW - outW). That rule is in Pillow 13.0.0's ImagingResampleInner; older
//     Pillow always went horizontal first. The order changes the rounding of the intermediate
//     (by up to ~30 levels on noise), so it must match. A pass whose size does not change is
//     skipped (it would be the identity anyway).
// Each output pixel depends only on its own weights, so computing just the pixels inside the
// crop window gives the same bytes as resizing everything and cropping; preprocess does that.

/// Eval preprocessing settings of a timm model (`pretrained_cfg`).
public struct PreprocessConfig: Sendable, Equatable {
    /// Side of the square network input, e.g. 224.
    public var inputSize: Int
    /// Fraction of the resized image kept by the center crop: the shorter side is resized to
    /// floor(inputSize / cropPct). timm's DeiT config uses 0.9 (224 -> 248), the DeiT repo 0.875 (-> 256).
    public var cropPct: Double
    /// Per-channel mean and std, in 0...1 units, one value per channel.
    public var mean: [Float]
    public var std: [Float]
    /// 3 for RGB, 1 for a grayscale model (image converted to PIL 'L' before resizing).
    public var channels: Int

    public init(inputSize: Int, cropPct: Double, mean: [Float], std: [Float], channels: Int = 3) {
        self.inputSize = inputSize
        self.cropPct = cropPct
        self.mean = mean
        self.std = std
        self.channels = channels
    }

    /// timm's default crop_pct, used by its DeiT configs (deit.py `_cfg`).
    public static let timmCropPct = 0.9
    /// The DeiT repo's `--eval-crop-ratio`.
    public static let deitCropPct = 0.875

    /// ImageNet RGB statistics (timm IMAGENET_DEFAULT_MEAN / _STD) with timm's crop_pct by default.
    public static func imagenet(size: Int = 224, cropPct: Double = timmCropPct) -> PreprocessConfig {
        PreprocessConfig(inputSize: size, cropPct: cropPct,
                         mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 3)
    }
}

/// Where the network input sits in the resized image. Useful to map token maps back onto the photo:
/// input pixel (x, y) is resized pixel (x + cropLeft, y + cropTop), and resized pixel (u, v) covers
/// original pixels around ((u + 0.5) * width / resizedWidth - 0.5, ...).
public struct PreprocessGeometry: Sendable, Equatable {
    /// Shorter side after the resize: floor(inputSize / cropPct).
    public let scale: Int
    public let resizedWidth: Int
    public let resizedHeight: Int
    /// Offset of the crop in the resized image; negative when the crop is larger (zero padding).
    public let cropLeft: Int
    public let cropTop: Int
    /// Side of the square crop (= inputSize).
    public let cropSize: Int
}

/// The eval transform and the Pillow-exact bicubic resize it uses.
public enum Preprocess {
    /// Resize and crop sizes for an image of `width` x `height`, as timm + torchvision compute them.
    public static func geometry(width: Int, height: Int, _ cfg: PreprocessConfig) throws -> PreprocessGeometry {
        guard width > 0, height > 0 else {
            throw invalid("the image is \(width)x\(height)", "give a non-empty image")
        }
        guard cfg.inputSize > 0, cfg.cropPct.isFinite, cfg.cropPct > 0 else {
            throw invalid("inputSize \(cfg.inputSize) / cropPct \(cfg.cropPct) is not usable",
                          "use a positive inputSize and a cropPct such as 0.9")
        }
        let scaleD = (Double(cfg.inputSize) / cfg.cropPct).rounded(.down)
        guard scaleD >= 1, scaleD < 1e6 else {
            throw invalid("resize target floor(\(cfg.inputSize) / \(cfg.cropPct)) = \(scaleD) is out of range",
                          "use a cropPct such as 0.9")
        }
        let scale = Int(scaleD)
        let short = min(width, height), long = max(width, height)
        // int(scale * long / short): Python multiplies exactly in integers, then one rounded division.
        let newLongD = (Double(scale * long) / Double(short)).rounded(.towardZero)
        guard newLongD * Double(scale) <= Double(PNGCodec.defaultMaxPixels) else {
            throw invalid("a \(width)x\(height) image resized to shorter side \(scale) has too many pixels",
                          "crop the image to a less extreme aspect ratio first")
        }
        let newLong = Int(newLongD)
        let (rw, rh) = width <= height ? (scale, newLong) : (newLong, scale)
        let size = cfg.inputSize
        return PreprocessGeometry(scale: scale, resizedWidth: rw, resizedHeight: rh,
                                  cropLeft: cropOffset(rw, size), cropTop: cropOffset(rh, size), cropSize: size)
    }

    /// torchvision center_crop: pad (left = (size - n) // 2) when too small, else round half to even.
    private static func cropOffset(_ n: Int, _ size: Int) -> Int {
        if n < size { return -((size - n) / 2) }
        return Int((Double(n - size) / 2).rounded(.toNearestOrEven))
    }

    /// The full eval transform. Returns CHW float32, `[cfg.channels, cfg.inputSize, cfg.inputSize]`:
    /// `out[(c * size + y) * size + x] = (p / 255 - mean[c]) / std[c]`, p the resized, cropped pixel.
    public static func preprocess(_ img: RGBImage, _ cfg: PreprocessConfig) throws -> [Float] {
        guard cfg.channels == 1 || cfg.channels == 3 else {
            throw invalid("channels is \(cfg.channels)", "use 3 (RGB) or 1 (grayscale)")
        }
        guard cfg.mean.count == cfg.channels, cfg.std.count == cfg.channels else {
            throw invalid("\(cfg.mean.count) means and \(cfg.std.count) stds for \(cfg.channels) channels",
                          "give one mean and one std per channel")
        }
        guard cfg.std.allSatisfy({ $0 != 0 && $0.isFinite }), cfg.mean.allSatisfy(\.isFinite) else {
            throw invalid("std \(cfg.std) / mean \(cfg.mean) has a zero or non-finite value", "fix the model config")
        }
        guard img.pixels.count == img.width * img.height * 3 else {
            throw invalid("the image has \(img.pixels.count) bytes for \(img.width)x\(img.height) RGB",
                          "keep pixels.count == width * height * 3")
        }
        let g = try geometry(width: img.width, height: img.height, cfg)
        let c = cfg.channels, size = cfg.inputSize

        // The part of the crop that lies inside the resized image (all of it unless padding).
        let cols = max(g.cropLeft, 0)..<min(g.cropLeft + size, g.resizedWidth)
        let rows = max(g.cropTop, 0)..<min(g.cropTop + size, g.resizedHeight)
        let source = c == 3 ? img.pixels : img.grayscale()
        let window = source.withUnsafeBufferPointer { src in
            resample(src, width: img.width, height: img.height, channels: c,
                     toWidth: g.resizedWidth, toHeight: g.resizedHeight, cols: cols, rows: rows)
        }

        var out = [Float](repeating: 0, count: c * size * size)
        out.withUnsafeMutableBufferPointer { dst in
            window.withUnsafeBufferPointer { win in
                for ch in 0..<c {
                    let mean = cfg.mean[ch], std = cfg.std[ch]
                    let zero = (Float(0) - mean) / std  // padding value: pixel 0, normalised
                    for y in 0..<size {
                        let v = y + g.cropTop
                        let plane = (ch * size + y) * size
                        for x in 0..<size {
                            let u = x + g.cropLeft
                            guard rows.contains(v), cols.contains(u) else {
                                dst[plane + x] = zero
                                continue
                            }
                            let p = win[((v - rows.lowerBound) * cols.count + (u - cols.lowerBound)) * c + ch]
                            dst[plane + x] = (Float(p) / 255 - mean) / std
                        }
                    }
                }
            }
        }
        return out
    }

    /// Pillow `img.resize((width, height), Image.BICUBIC)` on an RGB image, byte for byte.
    public static func resizeBicubic(_ img: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resizeBicubic: target \(width)x\(height)")
        precondition(img.width > 0 && img.height > 0 && img.pixels.count == img.width * img.height * 3,
                     "resizeBicubic: malformed \(img.width)x\(img.height) image")
        let out = img.pixels.withUnsafeBufferPointer { src in
            resample(src, width: img.width, height: img.height, channels: 3,
                     toWidth: width, toHeight: height, cols: 0..<width, rows: 0..<height)
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// The same for an 8-bit gray image (`srcWidth * srcHeight` bytes, PIL mode 'L').
    public static func resizeBicubic(gray: [UInt8], width srcWidth: Int, height srcHeight: Int,
                                     toWidth: Int, toHeight: Int) -> [UInt8] {
        precondition(toWidth > 0 && toHeight > 0, "resizeBicubic: target \(toWidth)x\(toHeight)")
        precondition(srcWidth > 0 && srcHeight > 0 && gray.count == srcWidth * srcHeight,
                     "resizeBicubic: malformed \(srcWidth)x\(srcHeight) gray image")
        return gray.withUnsafeBufferPointer { src in
            resample(src, width: srcWidth, height: srcHeight, channels: 1,
                     toWidth: toWidth, toHeight: toHeight, cols: 0..<toWidth, rows: 0..<toHeight)
        }
    }

    private static func invalid(_ what: String, _ fix: String) -> ImageError {
        ImageError(.invalidArgument, "image", verb: "preprocess", what: what, fix: fix)
    }
}

// MARK: - Pillow bicubic resampling

/// Fractional bits of the fixed-point weights: 32 bits minus 8 for the pixel, minus 2 for the
/// overshoot of a kernel with negative lobes (Pillow's PRECISION_BITS).
private let precisionBits: Int32 = 32 - 8 - 2

/// Pillow's bicubic_filter, a = -0.5. The expression order is Pillow's, so Double results match.
@inline(__always)
private func bicubic(_ t: Double) -> Double {
    let x = t < 0 ? -t : t
    if x < 1 { return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1 }
    if x < 2 { return (((x - 5) * x + 8) * x - 4) * -0.5 }
    return 0
}

/// Fixed-point weights of one 1-D pass, for the outputs in `outputs` only (Pillow precompute_coeffs
/// followed by normalize_coeffs_8bpc). Output `outputs.lowerBound + i` reads input indices
/// first[i] ..< first[i] + count[i] with weights[i * taps ..< i * taps + count[i]].
private struct BicubicWeights {
    let taps: Int
    var first: [Int] = []
    var count: [Int] = []
    var weights: [Int32] = []

    init(inSize: Int, outSize: Int, outputs: Range<Int>) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        taps = Int(support.rounded(.up)) * 2 + 1
        let invFilterScale = 1.0 / filterScale
        let one = Double(Int32(1) << precisionBits)
        weights = [Int32](repeating: 0, count: outputs.count * taps)
        first.reserveCapacity(outputs.count)
        count.reserveCapacity(outputs.count)
        var k = [Double](repeating: 0, count: taps)
        for (i, xx) in outputs.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)  // C (int) truncates toward zero
            let hi = min(Int(center + support + 0.5), inSize)
            let n = hi - lo
            var sum = 0.0
            for x in 0..<n {
                let w = bicubic((Double(x + lo) - center + 0.5) * invFilterScale)
                k[x] = w
                sum += w
            }
            for x in 0..<n {
                let w = sum != 0 ? k[x] / sum : k[x]
                weights[i * taps + x] = Int32(w < 0 ? -0.5 + w * one : 0.5 + w * one)
            }
            first.append(lo)
            count.append(n)
        }
    }

    /// Input indices read by all outputs together.
    var span: Range<Int> { first[0] ..< first[first.count - 1] + count[count.count - 1] }
}

@inline(__always)
private func clip8(_ acc: Int32) -> UInt8 {
    let v = acc >> precisionBits
    return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
}

/// Pillow's two-pass bicubic resize of an interleaved 8-bit image (`channels` 1 or 3) from
/// width x height to toWidth x toHeight, computing only output columns `cols` and rows `rows`.
/// Returns `rows.count * cols.count * channels` bytes, row-major, interleaved.
///
/// Pass order follows Pillow 13's ImagingResampleInner: vertical first when the height shrinks by
/// more than twice as many pixels as the width (`inH - outH > 2 * (inW - outW)`), else horizontal
/// first (see the file header).
private func resample(_ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels c: Int,
                      toWidth: Int, toHeight: Int, cols: Range<Int>, rows: Range<Int>) -> [UInt8] {
    precondition(c == 1 || c == 3)
    guard !cols.isEmpty, !rows.isEmpty, let base = src.baseAddress else { return [] }
    let hw = toWidth != width ? BicubicWeights(inSize: width, outSize: toWidth, outputs: cols) : nil
    let vw = toHeight != height ? BicubicWeights(inSize: height, outSize: toHeight, outputs: rows) : nil
    let horizontalFirst = !(height - toHeight > 0 && height - toHeight > (width - toWidth) * 2)
    let stride = width * c

    switch (hw, vw) {
    case (nil, nil):
        var out = [UInt8](repeating: 0, count: rows.count * cols.count * c)
        out.withUnsafeMutableBufferPointer { dst in
            guard let d = dst.baseAddress else { return }
            for (j, y) in rows.enumerated() {
                (d + j * cols.count * c).update(from: base + y * stride + cols.lowerBound * c, count: cols.count * c)
            }
        }
        return out
    case let (h?, nil):
        return horizontalPass(base + rows.lowerBound * stride, stride: stride, rows: rows.count,
                              xOffset: 0, weights: h, channels: c)
    case let (nil, v?):
        return verticalPass(base + cols.lowerBound * c, stride: stride, yOffset: 0,
                            rowLength: cols.count * c, weights: v)
    case let (h?, v?) where horizontalFirst:
        // Only the input rows the vertical pass reads (Pillow's ybox_first ..< ybox_last).
        let ys = v.span
        let mid = horizontalPass(base + ys.lowerBound * stride, stride: stride, rows: ys.count,
                                 xOffset: 0, weights: h, channels: c)
        return mid.withUnsafeBufferPointer { m in
            guard let mb = m.baseAddress else { return [] }
            return verticalPass(mb, stride: cols.count * c, yOffset: ys.lowerBound,
                                rowLength: cols.count * c, weights: v)
        }
    case let (h?, v?):
        // Only the input columns the horizontal pass reads.
        let xs = h.span
        let mid = verticalPass(base + xs.lowerBound * c, stride: stride, yOffset: 0,
                               rowLength: xs.count * c, weights: v)
        return mid.withUnsafeBufferPointer { m in
            guard let mb = m.baseAddress else { return [] }
            return horizontalPass(mb, stride: xs.count * c, rows: rows.count,
                                  xOffset: xs.lowerBound, weights: h, channels: c)
        }
    }
}

/// Horizontal pass over `rows` rows: row r starts at `src + r * stride`, and input column x
/// (absolute, as in `weights.first`) is at `(x - xOffset) * channels`.
/// Returns [rows, weights outputs, channels].
private func horizontalPass(_ src: UnsafePointer<UInt8>, stride: Int, rows: Int, xOffset: Int,
                            weights hw: BicubicWeights, channels c: Int) -> [UInt8] {
    let outCols = hw.first.count
    let rowLen = outCols * c
    let taps = hw.taps
    let half: Int32 = 1 << (precisionBits - 1)
    var out = [UInt8](repeating: 0, count: rows * rowLen)
    out.withUnsafeMutableBufferPointer { outBuf in
        hw.weights.withUnsafeBufferPointer { wBuf in
            hw.first.withUnsafeBufferPointer { first in
                hw.count.withUnsafeBufferPointer { count in
                    guard let dst = outBuf.baseAddress, let w = wBuf.baseAddress else { return }
                    for r in 0..<rows {
                        let srcRow = src + r * stride - xOffset * c
                        let dstRow = dst + r * rowLen
                        if c == 3 {
                            for i in 0..<outCols {
                                let k = w + i * taps
                                var p = srcRow + first[i] * 3
                                var s0 = half, s1 = half, s2 = half
                                for t in 0..<count[i] {
                                    let kt = k[t]
                                    s0 &+= Int32(p[0]) &* kt
                                    s1 &+= Int32(p[1]) &* kt
                                    s2 &+= Int32(p[2]) &* kt
                                    p += 3
                                }
                                dstRow[3 * i] = clip8(s0)
                                dstRow[3 * i + 1] = clip8(s1)
                                dstRow[3 * i + 2] = clip8(s2)
                            }
                        } else {
                            for i in 0..<outCols {
                                let k = w + i * taps
                                let p = srcRow + first[i]
                                var s = half
                                for t in 0..<count[i] { s &+= Int32(p[t]) &* k[t] }
                                dstRow[i] = clip8(s)
                            }
                        }
                    }
                }
            }
        }
    }
    return out
}

/// Vertical pass: input row y (absolute, as in `weights.first`) starts at
/// `src + (y - yOffset) * stride`; each output row combines `rowLength` bytes of its input rows.
/// Whole rows at a time, so the inner loop runs over contiguous bytes and vectorises.
/// Returns [weights outputs, rowLength].
private func verticalPass(_ src: UnsafePointer<UInt8>, stride: Int, yOffset: Int, rowLength: Int,
                          weights vw: BicubicWeights) -> [UInt8] {
    let outRows = vw.first.count
    var out = [UInt8](repeating: 0, count: outRows * rowLength)
    var acc = [Int32](repeating: 0, count: rowLength)
    out.withUnsafeMutableBufferPointer { outBuf in
        acc.withUnsafeMutableBufferPointer { accBuf in
            vw.weights.withUnsafeBufferPointer { wBuf in
                guard let dst = outBuf.baseAddress, let a = accBuf.baseAddress,
                      let w = wBuf.baseAddress else { return }
                for j in 0..<outRows {
                    a.update(repeating: 1 << (precisionBits - 1), count: rowLength)
                    let k = w + j * vw.taps
                    for t in 0..<vw.count[j] {
                        let kt = k[t]
                        let line = src + (vw.first[j] + t - yOffset) * stride
                        for i in 0..<rowLength { a[i] &+= Int32(line[i]) &* kt }
                    }
                    let dstRow = dst + j * rowLength
                    for i in 0..<rowLength { dstRow[i] = clip8(a[i]) }
                }
            }
        }
    }
    return out
}
