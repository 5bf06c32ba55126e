// PNG in and out through libpng's simplified API (png_image_*), and the error type for images.
//
// Why the simplified API: each entry point runs inside libpng's own setjmp (png_safe_execute),
// so a broken file comes back as a 0 return plus `image.message` and never longjmps through
// Swift frames. It also decodes every PNG kind (1/2/4/8/16-bit, gray, palette, tRNS, alpha,
// Adam7) into one 8-bit layout we ask for.
//
// Reading matches timm's loader, `PIL.Image.open(f).convert('RGB')`:
//   * we ask for RGBA and drop alpha ourselves; asking libpng for RGB would composite onto the
//     output buffer in linear light, whereas PIL just discards alpha;
//   * PNG_IMAGE_FLAG_16BIT_sRGB makes libpng treat 16-bit samples as sRGB-encoded (PIL keeps the
//     high byte; libpng rounds v/257, so 16-bit files can differ by 1);
//   * width·height is checked against a cap before anything is allocated (decompression bombs:
//     a 100-byte file can declare 30000 x 30000 pixels).
// Known difference, left alone: an 8-bit file whose gAMA chunk is far from sRGB (e.g. gAMA 1.0)
// is gamma-corrected to sRGB by libpng, while PIL ignores gAMA. Such files are rare.
//
// Writing is atomic: `<path>.tmp-<pid>` in the same directory, then rename(2), so a reader never
// sees half a file and a failed write leaves any old file untouched.

import CLibPNG

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads any PNG into an `RGBImage` and writes `RGBImage`s (or 8-bit gray) as PNG.
public enum PNGCodec {
    /// Default pixel cap for reads: 50 M pixels is 200 MB as RGBA, far beyond any photo a ViT needs.
    public static let defaultMaxPixels = 50_000_000

    // MARK: Reading

    /// Reads the PNG at `path` as 8-bit RGB (alpha dropped, palette expanded, 16-bit reduced).
    /// Throws `ImageError` for a missing file, a non-PNG, a damaged file, or an image with more
    /// than `maxPixels` pixels.
    public static func read(path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let err = errno
            if err == ENOENT || err == ENOTDIR {
                throw ImageError(.fileNotFound, path, what: "no such file", fix: "check the path")
            }
            throw ImageError(.ioError, path, what: errnoText(err), fix: "check the path and its permissions")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError(.ioError, path, what: "it is a directory", fix: "give the path of a PNG file")
        }
        if st.st_size == 0 {
            throw ImageError(.corrupt, path, what: "the file is empty", fix: "give a PNG image")
        }
        guard let file = fopen(path, "rb") else {
            let err = errno
            throw ImageError(err == ENOENT ? .fileNotFound : .ioError, path,
                             what: errnoText(err), fix: "check the path and its permissions")
        }
        defer { fclose(file) }
        return try decode(label: path, maxPixels: maxPixels) { png_image_begin_read_from_stdio(&$0, file) }
    }

    /// Reads a PNG held in memory (e.g. downloaded bytes). `name` only labels error messages.
    public static func read(data: [UInt8], maxPixels: Int = defaultMaxPixels,
                            name: String = "in-memory PNG") throws -> RGBImage {
        if data.isEmpty {
            throw ImageError(.corrupt, name, what: "no bytes", fix: "give a PNG image")
        }
        // libpng keeps pointing into `data` until finish_read, so the whole decode stays inside.
        return try data.withUnsafeBytes { bytes in
            try decode(label: name, maxPixels: maxPixels) {
                png_image_begin_read_from_memory(&$0, bytes.baseAddress, bytes.count)
            }
        }
    }

    /// The shared read path. `begin` opens the PNG header into the image struct.
    private static func decode(label: String, maxPixels: Int,
                               begin: (inout png_image) -> Int32) throws -> RGBImage {
        var image = png_image()  // zero-initialised: opaque = nil, as png.h requires
        image.version = CPNG_IMAGE_VERSION
        // png_image_free is a no-op once libpng has freed `opaque` (finish_read always does), so
        // one defer covers every early exit below.
        defer { png_image_free(&image) }

        if begin(&image) == 0 {
            throw readError(label, message(of: image))
        }
        image.flags |= CPNG_IMAGE_FLAG_16BIT_sRGB  // only allowed after begin_read
        image.format = CPNG_FORMAT_RGBA

        let width = Int(image.width), height = Int(image.height)
        let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixelCount > maxPixels {
            throw ImageError(.tooLarge, label,
                             what: "image is \(width)x\(height) = \(overflow ? "too many" : String(pixelCount)) pixels, over the cap of \(maxPixels)",
                             fix: "downscale it first")
        }
        guard let stride = Int32(exactly: width * 4) else {
            throw ImageError(.tooLarge, label, what: "rows of \(width) pixels are too wide for libpng",
                             fix: "downscale it first")
        }

        var rgba = [UInt8](repeating: 0, count: pixelCount * 4)
        let ok = rgba.withUnsafeMutableBytes { buf in
            png_image_finish_read(&image, nil, buf.baseAddress, stride, nil)
        }
        if ok == 0 {
            throw readError(label, message(of: image))
        }

        var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
        rgb.withUnsafeMutableBufferPointer { dst in
            rgba.withUnsafeBufferPointer { src in
                for i in 0..<pixelCount {
                    dst[3 * i] = src[4 * i]
                    dst[3 * i + 1] = src[4 * i + 1]
                    dst[3 * i + 2] = src[4 * i + 2]
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }

    /// Maps libpng's message to a kind and an action. libpng's words stay in parentheses.
    private static func readError(_ label: String, _ libpng: String) -> ImageError {
        if libpng.contains("Not a PNG file") {
            return ImageError(.notPNG, label, what: "not a PNG file (libpng: \(libpng))",
                              fix: "give a PNG image (convert other formats first)")
        }
        if libpng.contains("No such file") {
            return ImageError(.fileNotFound, label, what: "no such file", fix: "check the path")
        }
        return ImageError(.corrupt, label, what: "the PNG is truncated or damaged (libpng: \(libpng))",
                          fix: "re-export or re-download the image")
    }

    // MARK: Writing

    /// Writes `image` as an 8-bit RGB PNG, atomically (temp file in the same directory, then rename).
    public static func write(_ image: RGBImage, to path: String) throws {
        guard image.width > 0, image.height > 0, image.pixels.count == image.width * image.height * 3 else {
            throw ImageError(.invalidArgument, path, verb: "write",
                             what: "image is \(image.width)x\(image.height) with \(image.pixels.count) bytes",
                             fix: "give a non-empty image with width*height*3 bytes")
        }
        try encode(format: CPNG_FORMAT_RGB, channels: 3, width: image.width, height: image.height,
                   pixels: image.pixels, to: path)
    }

    /// Writes `width * height` bytes of 8-bit gray (row-major) as a gray PNG, atomically.
    public static func writeGray(width: Int, height: Int, pixels: [UInt8], to path: String) throws {
        guard width > 0, height > 0, pixels.count == width * height else {
            throw ImageError(.invalidArgument, path, verb: "write",
                             what: "gray image is \(width)x\(height) with \(pixels.count) bytes",
                             fix: "give a non-empty image with width*height bytes")
        }
        try encode(format: CPNG_FORMAT_GRAY, channels: 1, width: width, height: height,
                   pixels: pixels, to: path)
    }

    private static func encode(format: png_uint_32, channels: Int, width: Int, height: Int,
                               pixels: [UInt8], to path: String) throws {
        guard let w = png_uint_32(exactly: width), let h = png_uint_32(exactly: height),
              let stride = Int32(exactly: width * channels) else {
            throw ImageError(.invalidArgument, path, verb: "write", what: "image \(width)x\(height) is too large for PNG",
                             fix: "downscale it first")
        }
        let dir = directory(of: path)
        var st = stat()
        if stat(dir, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            throw ImageError(.fileNotFound, path, verb: "write", what: "directory \(dir) does not exist",
                             fix: "create it first or choose another path")
        }

        AtomicFile.removeAbandonedTemporaries(of: path)
        let temp = AtomicFile.temporaryPath(for: path)
        var image = png_image()
        image.version = CPNG_IMAGE_VERSION
        image.width = w
        image.height = h
        image.format = format
        defer { png_image_free(&image) }
        let ok = pixels.withUnsafeBytes { buf in
            png_image_write_to_file(&image, temp, 0, buf.baseAddress, stride, nil)
        }
        if ok == 0 {
            let text = message(of: image)
            unlink(temp)
            throw ImageError(.ioError, path, verb: "write", what: "libpng: \(text)",
                             fix: "check that the directory is writable and the disk is not full")
        }
        if rename(temp, path) != 0 {
            let err = errno
            unlink(temp)
            throw ImageError(.ioError, path, verb: "write", what: "rename from \(temp) failed: \(errnoText(err))",
                             fix: "check that \(path) is not a directory and the directory is writable")
        }
    }

    // MARK: Helpers

    /// `image.message`, a 64-byte NUL-terminated C array imported as a tuple.
    private static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? "unknown error" : text
        }
    }

    private static func errnoText(_ err: Int32) -> String {
        guard let c = strerror(err) else { return "errno \(err)" }
        return String(cString: c).lowercased()
    }

    /// The directory part of `path` ("." when there is none), as for dirname(3).
    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = path[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }
}
