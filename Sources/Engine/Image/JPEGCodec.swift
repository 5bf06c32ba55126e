// JPEG in, through libjpeg-turbo, decoded as Pillow decodes it (timm's loader is
// `PIL.Image.open(f).convert('RGB')`, and Pillow is built on the same library).
//
// What makes the pixels equal Pillow's (the C side, CJPEGGuard, has the details):
//   * the same decoder settings: islow IDCT, fancy (triangle) chroma upsampling, libjpeg's own
//     YCbCr -> RGB; so baseline and progressive, 4:2:0, 4:2:2, 4:4:4 all match byte for byte;
//   * one component is gray, repeated into R, G and B as convert('RGB') does;
//   * four components are CMYK, which Pillow always reads as Adobe's inverted CMYK ("CMYK;I")
//     and converts with its cmyk2rgb (no colour management): R = (255 - K) - (C (255 - K)) / 255
//     in Pillow's rounded integer form, likewise G from M and B from Y;
//   * EXIF orientation is ignored: Pillow's open() does not apply it and neither does timm
//     (no exif_transpose), so a phone photo goes into the model as stored, possibly sideways.
// The pixel cap is checked from the header, before any pixel is decoded or allocated. A file that
// ends early is an error (Pillow: "image file is truncated"), never a half-grey picture.

import CJPEGGuard

public enum JPEGCodec {
    /// Decodes JPEG bytes (e.g. a whole file). `name` labels error messages.
    public static func read(data: [UInt8], maxPixels: Int = PNGCodec.defaultMaxPixels,
                            name: String = "in-memory JPEG") throws -> RGBImage {
        try data.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress, !buf.isEmpty else {
                throw ImageError(.corrupt, name, what: "no bytes", fix: "give a JPEG image")
            }
            var info = cjpeg_image()
            var code = cjpeg_read_header(base, buf.count, &info)
            if code != Int32(CJPEG_OK) { throw error(code, info, name) }
            let width = Int(info.width), height = Int(info.height), channels = Int(info.output_components)
            let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
            if overflow || pixelCount > maxPixels {
                throw ImageError(.tooLarge, name,
                                 what: "image is \(width)x\(height) = \(overflow ? "too many" : String(pixelCount)) pixels, over the cap of \(maxPixels)",
                                 fix: "downscale it first")
            }
            var out = [UInt8](repeating: 0, count: pixelCount * channels)
            code = out.withUnsafeMutableBufferPointer { o in
                cjpeg_decode(base, buf.count, &info, o.baseAddress, o.count)
            }
            if code != Int32(CJPEG_OK) { throw error(code, info, name) }
            switch channels {
            case 1: return RGBImage(width: width, height: height, gray: out)
            case 3: return RGBImage(width: width, height: height, pixels: out)
            default: return RGBImage(width: width, height: height, pixels: invertedCMYKToRGB(out, pixels: pixelCount))
            }
        }
    }

    /// Pillow's "CMYK;I" unpacking (every byte inverted) followed by its cmyk2rgb (Convert.c):
    /// nk = 255 - K; out = clip(nk - MULDIV255(C, nk)), MULDIV255(a, b) = ((t >> 8) + t) >> 8 with t = a b + 128.
    static func invertedCMYKToRGB(_ raw: [UInt8], pixels n: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: n * 3)
        rgb.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    let nk = Int(src[4 * i + 3])  // 255 - (255 - raw K)
                    for c in 0..<3 {
                        let v = 255 - Int(src[4 * i + c])
                        let t = v * nk + 128
                        let r = nk - (((t >> 8) + t) >> 8)
                        dst[3 * i + c] = UInt8(max(0, min(255, r)))
                    }
                }
            }
        }
        return rgb
    }

    /// libjpeg's words stay in parentheses; the action depends on what went wrong.
    private static func error(_ code: Int32, _ info: cjpeg_image, _ name: String) -> ImageError {
        let text = withUnsafeBytes(of: info.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch code {
        case Int32(CJPEG_TRUNCATED):
            return ImageError(.corrupt, name, what: "the JPEG is truncated (libjpeg: \(text))",
                              fix: "re-download or re-export the image")
        case Int32(CJPEG_UNSUPPORTED):
            return ImageError(.unsupported, name, what: "a JPEG with \(text) (only gray, colour and CMYK are read)",
                              fix: "convert it to an RGB JPEG or PNG first")
        case Int32(CJPEG_TOO_MANY_SCANS):
            return ImageError(.corrupt, name, what: "the JPEG has \(text), far more than any encoder writes",
                              fix: "re-encode it (e.g. as baseline JPEG)")
        default:
            return ImageError(.corrupt, name, what: "the JPEG is damaged (libjpeg: \(text.isEmpty ? "unknown error" : text))",
                              fix: "re-download or re-export the image")
        }
    }
}
