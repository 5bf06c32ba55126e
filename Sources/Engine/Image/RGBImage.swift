// An 8-bit RGB image in memory: what PNGCodec reads and writes and what Preprocess consumes.
//
// Layout: `pixels[(y * width + x) * 3 + c]`, rows top to bottom, c = 0 R, 1 G, 2 B; no padding,
// no alpha. This is the layout of PIL's `np.asarray(img.convert('RGB'))` flattened, so fixtures
// written by Python compare byte for byte.

/// An 8-bit sRGB image, row-major, 3 bytes per pixel (R, G, B). Shape `[height, width, 3]`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, row-major RGB.
    public var pixels: [UInt8]

    /// Wraps existing pixels. `pixels.count` must be `width * height * 3`: a mismatch is a
    /// programming error in the caller, not bad input, so it traps.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)x3 = \(width * height * 3)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }

    /// Expands a grayscale image (`width * height` bytes, e.g. from `grayscale()`) to RGB by
    /// repeating each value, which is what PIL's `convert('RGB')` does for mode 'L'.
    public init(width: Int, height: Int, gray: [UInt8]) {
        precondition(gray.count == width * height,
                     "RGBImage: \(gray.count) gray bytes for \(width)x\(height)")
        var rgb = [UInt8](repeating: 0, count: gray.count * 3)
        rgb.withUnsafeMutableBufferPointer { out in
            gray.withUnsafeBufferPointer { src in
                for i in 0..<src.count {
                    let v = src[i]
                    out[3 * i] = v
                    out[3 * i + 1] = v
                    out[3 * i + 2] = v
                }
            }
        }
        self.init(width: width, height: height, pixels: rgb)
    }

    /// Luma exactly as PIL's `convert('L')` (ITU-R 601-2 weights in 16-bit fixed point, rounded):
    ///     L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16
    /// The weights sum to 65536, so a gray pixel (R = G = B) keeps its value. Returns
    /// `width * height` bytes, row-major. timm converts to 'L' with this formula before resizing
    /// when a model takes one input channel.
    public func grayscale() -> [UInt8] {
        let n = width * height
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    let r = UInt32(src[3 * i]), g = UInt32(src[3 * i + 1]), b = UInt32(src[3 * i + 2])
                    dst[i] = UInt8(truncatingIfNeeded: (r &* 19595 &+ g &* 38470 &+ b &* 7471 &+ 0x8000) >> 16)
                }
            }
        }
        return out
    }
}
