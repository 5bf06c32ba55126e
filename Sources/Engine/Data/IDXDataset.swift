import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// MNIST-style IDX files (Fashion-MNIST, MNIST) loaded whole into memory.
///
/// Format (big-endian, http://yann.lecun.com/exdb/mnist/):
///
///     images: 00 00 08 03 | count u32 | rows u32 | cols u32 | count*rows*cols pixels, u8, row-major
///     labels: 00 00 08 01 | count u32 |                       count labels, u8
///
/// `images[i*rows*cols + y*cols + x]` is pixel (y, x) of image i (0 = background, 255 = ink);
/// `labels[i]` is its class.
///
/// Why everything is checked before anything is used: these files come from outside (a Debian
/// package, a download, a `--data` flag pointing somewhere else), and a wrong or damaged file must
/// end in one readable line naming the file and the problem, never a trap or a silently wrong
/// training run. The sizes must match the header exactly (no truncation, no trailing bytes), image
/// and label counts must agree, and every label must be below the class count.
///
/// Decisions:
/// - A name ending in `.gz` is preferred when both exist; the plain name is accepted too. Gzip is
///   recognised by its `1f 8b` header, not by the name (an IDX file starts with `00 00`, so the two
///   cannot be confused); a `.gz` name without that header is an error.
/// - Decompression happens in memory with zlib (`inflateInit2` with 16 + MAX_WBITS, i.e. gzip
///   framing); concatenated gzip members are accepted as gzip(1) does, anything else after the
///   stream is an error. Files and decompressed data above `maxBytes` (200 MB; Fashion-MNIST's
///   largest file is 47 MB) are refused so that a wrong path cannot exhaust memory.
public struct IDXDataset: Sendable {
    /// Number of images (and labels).
    public let count: Int
    public let rows: Int
    public let cols: Int
    /// `count * rows * cols` pixels, image after image, row-major.
    public let images: [UInt8]
    /// `count` class indices, each below the class count given to `load`.
    public let labels: [UInt8]

    public enum Split: String, Sendable, CaseIterable {
        case train, test
        /// File-name prefix used by the MNIST family: `train-…` and `t10k-…`.
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where the Debian package dataset-fashion-mnist installs the four files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// Class names of Fashion-MNIST, indexed by label.
    public static let fashionClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    /// Upper bound on any file read and on any decompressed stream.
    public static let maxBytes = 200 * 1024 * 1024

    /// A dataset built in memory (tests, subsets). Throws if the sizes do not agree.
    public init(rows: Int, cols: Int, images: [UInt8], labels: [UInt8]) throws {
        guard rows > 0, cols > 0, images.count == labels.count * rows * cols else {
            throw EngineError("IDXDataset: \(images.count) pixels do not make \(labels.count) images of \(rows)x\(cols)")
        }
        self.count = labels.count
        self.rows = rows
        self.cols = cols
        self.images = images
        self.labels = labels
    }

    /// The first `n` images and labels (all of them when `n` is at least `count`).
    public func prefix(_ n: Int) -> IDXDataset {
        let k = max(0, min(n, count))
        guard k < count else { return self }
        // The slices keep the invariant the throwing initialiser checks: k labels, k images of rows x cols.
        return IDXDataset(unchecked: rows, cols, Array(images[0..<(k * rows * cols)]), Array(labels[0..<k]))
    }

    /// The last `n` images and labels (all of them when `n` is at least `count`): the validation
    /// hold-out, taken from the end so that `prefix(count - n)` is exactly the rest.
    public func suffix(_ n: Int) -> IDXDataset {
        let k = max(0, min(n, count))
        guard k < count else { return self }
        let first = count - k
        return IDXDataset(unchecked: rows, cols, Array(images[(first * rows * cols)...]), Array(labels[first...]))
    }

    /// Split into the first `count - n` (for training) and the last `n` (for validation).
    public func holdingOut(_ n: Int) -> (train: IDXDataset, validation: IDXDataset) {
        (prefix(count - n), suffix(n))
    }

    private init(unchecked rows: Int, _ cols: Int, _ images: [UInt8], _ labels: [UInt8]) {
        self.count = labels.count
        self.rows = rows
        self.cols = cols
        self.images = images
        self.labels = labels
    }

    /// Whether `directory` holds the image file of either split (`--data` then means IDX, not an image folder).
    public static func isIDXFolder(_ directory: String) -> Bool {
        Split.allCases.contains { split in
            let base = "\(directory)/\(split.filePrefix)-images-idx3-ubyte"
            return FileManager.default.fileExists(atPath: base + ".gz") || FileManager.default.fileExists(atPath: base)
        }
    }

    /// Loads `<split>-images-idx3-ubyte[.gz]` and `<split>-labels-idx1-ubyte[.gz]` from `directory`
    /// (split prefix `train` or `t10k`), checking them against each other and against `classCount`.
    public static func load(directory: String = defaultDirectory, split: Split, classCount: Int = 10) throws -> IDXDataset {
        let hint = "install the Debian package dataset-fashion-mnist or pass --data DIR"
        var st = stat()
        guard stat(directory, &st) == 0 else {
            throw EngineError("\(directory): \(String(cString: strerror(errno))); no dataset folder there; \(hint)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw EngineError("\(directory): not a folder; --data wants the folder holding the IDX files; \(hint)")
        }
        let imagePath = try locate(directory, "\(split.filePrefix)-images-idx3-ubyte", hint: hint)
        let labelPath = try locate(directory, "\(split.filePrefix)-labels-idx1-ubyte", hint: hint)

        return try decode(images: try readMaybeGzipped(imagePath), labels: try readMaybeGzipped(labelPath),
                          imagePath: imagePath, labelPath: labelPath, classCount: classCount)
    }

    /// Parses an image file's and a label file's bytes (already gunzipped; see `gunzipIfNeeded`);
    /// the paths name them in messages.
    public static func decode(images imageBytes: [UInt8], labels labelBytes: [UInt8], imagePath: String, labelPath: String,
                              classCount: Int = 10) throws -> IDXDataset {
        // Images: magic, then count, rows, cols.
        try checkMagic(imageBytes, path: imagePath, dims: 3, what: "an IDX image file")
        let n = Int(be32(imageBytes, 4)), rows = Int(be32(imageBytes, 8)), cols = Int(be32(imageBytes, 12))
        guard rows > 0, cols > 0 else {
            throw EngineError("\(imagePath): images of \(rows)x\(cols) pixels; expected positive rows and columns")
        }
        let pixels = try payload(imageBytes, path: imagePath, header: 16,
                                 expected: [n, rows, cols], describe: "\(n) images of \(rows)x\(cols)")

        // Labels: magic, then count.
        try checkMagic(labelBytes, path: labelPath, dims: 1, what: "an IDX label file")
        let nl = Int(be32(labelBytes, 4))
        let labels = try payload(labelBytes, path: labelPath, header: 8, expected: [nl], describe: "\(nl) labels")

        guard n == nl else {
            throw EngineError("\(labelPath): \(nl) labels but \(imagePath) has \(n) images; the two files must come from the same split")
        }
        guard n > 0 else { throw EngineError("\(imagePath): contains no images") }
        let limit = max(0, min(classCount, 256))
        if let i = labels.firstIndex(where: { Int($0) >= limit }) {
            throw EngineError("\(labelPath): label \(labels[i]) at index \(i - labels.startIndex), expected below \(classCount); is --data pointing at a 10-class dataset such as Fashion-MNIST?")
        }
        return IDXDataset(count: n, rows: rows, cols: cols, images: Array(pixels), labels: Array(labels))
    }

    private init(count: Int, rows: Int, cols: Int, images: [UInt8], labels: [UInt8]) {
        self.count = count; self.rows = rows; self.cols = cols; self.images = images; self.labels = labels
    }

    // MARK: - File handling

    /// `dir/name.gz` if it exists, else `dir/name`, else an error naming both.
    private static func locate(_ dir: String, _ name: String, hint: String) throws -> String {
        let base = dir.hasSuffix("/") ? dir + name : dir + "/" + name
        if access(base + ".gz", F_OK) == 0 { return base + ".gz" }
        if access(base, F_OK) == 0 { return base }
        throw EngineError("\(base).gz: no such file (nor \(name) without .gz); \(hint)")
    }

    /// The bytes of `path`, gunzipped when they start with the gzip magic `1f 8b`.
    static func readMaybeGzipped(_ path: String) throws -> [UInt8] {
        try gunzipIfNeeded(try readFile(path), path: path)
    }

    /// `raw` gunzipped when it starts with the gzip magic `1f 8b`, as it is otherwise (a name ending
    /// in .gz must hold gzip data).
    public static func gunzipIfNeeded(_ raw: [UInt8], path: String) throws -> [UInt8] {
        let isGzip = raw.count >= 2 && raw[0] == 0x1f && raw[1] == 0x8b
        if path.hasSuffix(".gz") && !isGzip {
            throw EngineError("\(path): not gzip data (no 1f 8b header) although the name ends in .gz; corrupt or mislabelled, download it again")
        }
        return isGzip ? try gunzip(raw, path: path) : raw
    }

    private static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw EngineError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EngineError("\(path): cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw EngineError("\(path): not a regular file") }
        let size = Int(st.st_size)
        guard size <= maxBytes else {
            throw EngineError("\(path): \(size) bytes is more than the \(maxBytes / (1024 * 1024)) MB limit; not an MNIST-sized IDX file")
        }
        var readError: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
            var done = 0
            while done < size, let base = buf.baseAddress {
                let r = read(fd, base + done, size - done)
                if r < 0 { if errno == EINTR { continue }; readError = errno; break }
                if r == 0 { break }
                done += r
            }
            if done < size { buf.baseAddress?.advanced(by: done).initialize(repeating: 0, count: size - done) }
            initialized = done
        }
        if readError != 0 { throw EngineError("\(path): read failed: \(String(cString: strerror(readError)))") }
        guard bytes.count == size else { throw EngineError("\(path): file shrank while reading (\(bytes.count) of \(size) bytes)") }
        return bytes
    }

    /// In-memory gunzip with zlib; gzip framing checks the CRC-32 and length trailer of each member.
    static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        let corrupt = "corrupt gzip data"
        let again = "download or reinstall it"
        // The gzip trailer's ISIZE (length mod 2^32) sizes the first allocation. It is only a hint
        // (a damaged trailer can claim anything), so it is capped by deflate's best ratio, 1032:1.
        var capacity = min(1 << 16, 1032 * input.count + 1)
        if input.count >= 4 {
            let n = input.count
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
            capacity = max(capacity, min(isize + 1, maxBytes + 1, 1032 * n + 1))
        }
        var out = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        var strm = z_stream()
        guard inflateInit2_(&strm, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw EngineError("\(path): zlib could not start (inflateInit2 failed)")
        }
        defer { inflateEnd(&strm) }

        var message: String? = nil
        input.withUnsafeBufferPointer { inBuf in
            guard let inBase = inBuf.baseAddress else { message = "empty file"; return }
            strm.next_in = UnsafeMutablePointer(mutating: inBase)
            strm.avail_in = UInt32(inBuf.count) // readFile caps files at maxBytes, far below 4 GB
            while true {
                if produced == out.count {
                    if out.count > maxBytes {
                        message = "decompresses to more than \(maxBytes / (1024 * 1024)) MB; not an MNIST-sized IDX file"
                        return
                    }
                    out.append(contentsOf: repeatElement(0, count: min(out.count, maxBytes + 1 - out.count)))
                }
                let room = out.count - produced
                let status: Int32 = out.withUnsafeMutableBufferPointer { outBuf in
                    strm.next_out = outBuf.baseAddress.map { $0 + produced }
                    strm.avail_out = UInt32(room)
                    return inflate(&strm, Z_NO_FLUSH)
                }
                produced += room - Int(strm.avail_out)
                switch status {
                case Z_STREAM_END:
                    // Another member (`cat a.gz b.gz`) continues the data; anything else is garbage.
                    let left = Int(strm.avail_in)
                    if left == 0 { return }
                    let at = inBuf.count - left
                    if left >= 2 && inBuf[at] == 0x1f && inBuf[at + 1] == 0x8b {
                        inflateReset(&strm)
                        continue
                    }
                    message = "\(left) bytes of garbage after the gzip stream; \(again)"
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if strm.avail_out == 0 { continue } // output full: grow and go on
                    message = "truncated gzip stream (ends after \(produced) decompressed bytes); \(again)"
                    return
                case Z_NEED_DICT:
                    message = "\(corrupt) (asks for a preset dictionary); \(again)"
                    return
                case Z_MEM_ERROR:
                    message = "out of memory while decompressing"
                    return
                default:
                    let detail = strm.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    message = "\(corrupt) (\(detail)); \(again)"
                    return
                }
            }
        }
        if let message { throw EngineError("\(path): \(message)") }
        guard produced <= maxBytes else {
            throw EngineError("\(path): decompresses to more than \(maxBytes / (1024 * 1024)) MB; not an MNIST-sized IDX file")
        }
        out.removeSubrange(produced...)
        return out
    }

    // MARK: - Header checks

    static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    /// Magic `00 00 08 dims`: unsigned bytes with `dims` dimensions; also makes sure the whole
    /// header (4 + 4*dims bytes) is present before anyone reads it.
    private static func checkMagic(_ b: [UInt8], path: String, dims: Int, what: String) throws {
        let want = UInt32(0x0800 | dims)
        let hex = { (v: UInt32) in "0x" + String(repeating: "0", count: 8 - String(v, radix: 16).count) + String(v, radix: 16) }
        guard b.count >= 4 else {
            throw EngineError("\(path): only \(b.count) bytes, too short for an IDX header; expected \(what) (magic \(hex(want)))")
        }
        let magic = be32(b, 0)
        if magic != want {
            var found = ""
            if b[0] == 0 && b[1] == 0 {
                let types: [UInt8: String] = [0x08: "unsigned bytes", 0x09: "signed bytes", 0x0B: "16-bit integers",
                                              0x0C: "32-bit integers", 0x0D: "floats", 0x0E: "doubles"]
                found = " (this one holds \(types[b[2]] ?? "unknown type 0x\(String(b[2], radix: 16))") in \(b[3]) dimension\(b[3] == 1 ? "" : "s"))"
            }
            throw EngineError("\(path): bad magic \(hex(magic))\(found), expected \(hex(want)) (\(what) of unsigned bytes in \(dims) dimension\(dims == 1 ? "" : "s")); is --data pointing at Fashion-MNIST?")
        }
        guard b.count >= 4 + 4 * dims else {
            throw EngineError("\(path): truncated header (\(b.count) bytes, an IDX header with \(dims) dimension\(dims == 1 ? "" : "s") has \(4 + 4 * dims))")
        }
    }

    /// The bytes after the header, which must be exactly the product of `expected`.
    private static func payload(_ b: [UInt8], path: String, header: Int, expected dims: [Int], describe: String) throws -> ArraySlice<UInt8> {
        var need = 1
        for d in dims {
            let (p, overflow) = need.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxBytes else {
                throw EngineError("\(path): header announces \(describe), more than the \(maxBytes / (1024 * 1024)) MB limit; corrupt header")
            }
            need = p
        }
        let have = b.count - header
        if have < need {
            throw EngineError("\(path): truncated: header announces \(describe) (\(need) bytes) but only \(have) follow the \(header)-byte header; download or reinstall it")
        }
        if have > need {
            throw EngineError("\(path): \(have - need) trailing bytes after the \(need) bytes the header announces (\(describe)); not a clean IDX file")
        }
        return b[header...]
    }
}
