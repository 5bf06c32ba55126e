// The one place an image file is read: PNG or JPEG, told apart by the file's first bytes, never
// by its name (a JPEG saved as photo.png is still read as the JPEG it is). Every command that takes
// an image, and every image folder, goes through `ImageReader.read`.
//
// The file is read whole into memory first (capped at `maxFileBytes`), so the decoders work on
// bytes and the checks that need the file system (missing, a directory, empty, unreadable) are
// made once, here, with messages that say what to do.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The image formats TokenScope decodes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png = "PNG", jpeg = "JPEG"

    /// The format by signature: PNG's 8-byte `89 'PNG' 0D 0A 1A 0A`, JPEG's SOI marker `FF D8 FF`.
    public static func sniff<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        return nil
    }

    /// A few formats people try, by signature, to say what the file is instead of only what it is not.
    static func describe(_ bytes: [UInt8]) -> String? {
        let s = bytes.prefix(12)
        func at(_ i: Int, _ text: String) -> Bool { Array(s.dropFirst(i).prefix(text.utf8.count)) == Array(text.utf8) }
        if at(0, "GIF8") { return "a GIF image" }
        if at(0, "BM") { return "a BMP image" }
        if at(0, "RIFF") && at(8, "WEBP") { return "a WebP image" }
        if at(0, "II*\u{0}") || at(0, "MM\u{0}*") { return "a TIFF image" }
        if at(4, "ftyp") { return "an HEIF/AVIF/MP4 file" }
        if at(0, "%PDF") { return "a PDF" }
        if at(0, "\u{1F}\u{8B}") { return "gzip data" }
        return nil
    }
}

public enum ImageReader {
    /// Largest image file read: a 50 M-pixel JPEG is rarely over 50 MB; this only stops a wrong path
    /// (a disk image, a video) from filling memory.
    public static let maxFileBytes = 256 * 1024 * 1024

    /// Reads the PNG or JPEG at `path` as 8-bit RGB (PIL's `convert('RGB')`). Throws `ImageError`
    /// with one line saying what is wrong and what to do.
    public static func read(path: String, maxPixels: Int = PNGCodec.defaultMaxPixels) throws -> RGBImage {
        let bytes = try readFile(path)
        return try decode(bytes, name: path, maxPixels: maxPixels)
    }

    /// Decodes PNG or JPEG bytes; `name` labels error messages.
    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = PNGCodec.defaultMaxPixels) throws -> RGBImage {
        switch ImageFormat.sniff(bytes) {
        case .png: return try PNGCodec.read(data: bytes, maxPixels: maxPixels, name: name)
        case .jpeg: return try JPEGCodec.read(data: bytes, maxPixels: maxPixels, name: name)
        case nil:
            if bytes.isEmpty { throw ImageError(.corrupt, name, what: "the file is empty", fix: "give a PNG or JPEG image") }
            let what = ImageFormat.describe(bytes).map { "not a PNG or JPEG file (it looks like \($0))" }
                ?? "not a PNG or JPEG file (its first bytes are \(hex(bytes.prefix(4))))"
            throw ImageError(.notImage, name, what: what, fix: "convert it to PNG or JPEG first")
        }
    }

    /// The whole file, with the file-system failures turned into messages.
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let err = errno
            if err == ENOENT || err == ENOTDIR { throw ImageError(.fileNotFound, path, what: "no such file", fix: "check the path") }
            throw ImageError(.ioError, path, what: errnoText(err), fix: "check the path and its permissions")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ImageError(.ioError, path, what: errnoText(errno), fix: "check the path and its permissions")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError(.ioError, path, what: "it is a directory",
                             fix: "give an image file (commands that take --data read a folder of images)")
        }
        if st.st_size == 0 { throw ImageError(.corrupt, path, what: "the file is empty", fix: "give a PNG or JPEG image") }
        if Int(st.st_size) > maxFileBytes {
            throw ImageError(.tooLarge, path, what: "the file is \(Int(st.st_size) / (1024 * 1024)) MB, over the \(maxFileBytes / (1024 * 1024)) MB cap for an image",
                             fix: "downscale it first")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        var failure: Int32 = 0
        bytes.withUnsafeMutableBytes { buf in
            guard let base = buf.baseAddress else { return }
            while done < buf.count {
                let n = Glibc.read(fd, base + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                if n == 0 { return }  // the file shrank while we read it
                done += n
            }
        }
        if failure != 0 { throw ImageError(.ioError, path, what: errnoText(failure), fix: "check the file and the disk") }
        if done < bytes.count { bytes.removeSubrange(done...) }
        return bytes
    }

    private static func hex(_ b: ArraySlice<UInt8>) -> String {
        b.map { v in let s = String(v, radix: 16); return s.count == 1 ? "0" + s : s }.joined(separator: " ")
    }

    private static func errnoText(_ err: Int32) -> String {
        guard let c = strerror(err) else { return "errno \(err)" }
        return String(cString: c).lowercased()
    }
}
