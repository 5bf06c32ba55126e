import Foundation

/// Reader for the safetensors format (huggingface/safetensors):
///
///     [8 bytes: N, little-endian u64] [N bytes: UTF-8 JSON header] [data section]
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` with
/// offsets relative to the data section, plus an optional `"__metadata__": {String: String}`.
/// Everything the reference implementation validates is validated here, so that a broken file gives
/// one clear error and never a trap: header length (at most 100 MB, inside the file), JSON shape,
/// known dtypes, `end - begin == numel * size`, offsets that tile the data section with no gap or
/// overlap, and a file size that matches. Data may sit at any alignment (reads are unaligned-safe).
public struct SafeTensorsFile: Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64
        public var size: Int {
            switch self {
            case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
            case .I16, .U16, .F16, .BF16: return 2
            case .I32, .U32, .F32: return 4
            case .F64, .I64, .U64: return 8
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int, end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public static let maxHeaderSize = 100_000_000

    /// The file's name, for messages.
    public let source: String
    public let metadata: [String: String]
    /// Tensors by name; `names` lists them in file order (by offset).
    public let entries: [String: Entry]
    public let names: [String]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// Reads and validates a whole file.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                throw EngineError(isDir.boolValue ? "\(path) is a directory, not a safetensors file"
                                                  : "cannot read \(path): permission denied or I/O error")
            }
            throw EngineError("\(path): no such file; check the path")
        }
        try self.init(bytes: [UInt8](data), source: path)
    }

    public init(bytes: [UInt8], source: String = "<memory>") throws {
        self.source = source
        self.bytes = bytes
        func fail(_ what: String) -> EngineError {
            EngineError("\(source) is not a valid safetensors file: \(what)")
        }
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(Self.maxHeaderSize) else {
            throw fail("header length \(n) exceeds the 100 MB limit (corrupt or not safetensors)")
        }
        let headerLen = Int(n)
        guard 8 + headerLen <= bytes.count else {
            throw fail("header length \(headerLen) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        dataStart = 8 + headerLen
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]), options: [])
        } catch {
            throw fail("the header is not valid JSON")
        }
        guard let dict = json as? [String: Any] else { throw fail("the header is not a JSON object") }

        var meta: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value \"\(k)\" is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("tensor \"\(name)\" is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw fail("tensor \"\(name)\" has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor \"\(name)\" has unknown dtype \"\(dtypeName)\"")
            }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail("tensor \"\(name)\" has no shape") }
            var shape: [Int] = []
            var numel = 1
            for d in shapeAny {
                guard let x = Self.exactInt(d), x >= 0, x <= Int(Int32.max) else {
                    throw fail("tensor \"\(name)\" has a bad dimension in its shape")
                }
                shape.append(x)
                let (p, o) = numel.multipliedReportingOverflow(by: x)
                guard !o, p <= bytes.count else { throw fail("tensor \"\(name)\" shape \(shapeString(shape)) is larger than the file") }
                numel = p
            }
            guard let off = info["data_offsets"] as? [Any], off.count == 2,
                  let b = Self.exactInt(off[0]), let e = Self.exactInt(off[1]) else {
                throw fail("tensor \"\(name)\" has no valid data_offsets [begin, end]")
            }
            guard b >= 0, e >= b else { throw fail("tensor \"\(name)\" has data_offsets [\(b), \(e)] with end before begin") }
            guard e - b == numel * dtype.size else {
                throw fail("tensor \"\(name)\" holds \(e - b) bytes but \(dtype.rawValue) \(shapeString(shape)) needs \(numel * dtype.size)")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, begin: b, end: e)
        }
        // Offsets must tile [0, dataSize) exactly, as the reference implementation requires.
        let sorted = entries.values.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        for e in sorted {
            if e.begin > cursor { throw fail("gap in the data section before tensor \"\(e.name)\" (bytes \(cursor)..<\(e.begin) belong to no tensor)") }
            if e.begin < cursor { throw fail("tensor \"\(e.name)\" overlaps the previous tensor (data_offsets begin \(e.begin) < \(cursor))") }
            cursor = e.end
        }
        let dataSize = bytes.count - dataStart
        if cursor != dataSize {
            if cursor > dataSize {
                throw fail("tensors need \(cursor) bytes of data but the file has \(dataSize) (truncated?)")
            }
            throw fail("file has \(dataSize - cursor) bytes after the last tensor (size mismatch)")
        }
        self.metadata = meta
        self.entries = entries
        self.names = sorted.map(\.name)
    }

    /// JSON numbers arrive as NSNumber; accept only exact non-negative integers.
    private static func exactInt(_ v: Any) -> Int? {
        // JSON `true` arrives as a subclass of NSNumber; only plain numbers are dimensions.
        guard let num = v as? NSNumber, type(of: num) == NSNumber.self else { return nil }
        let d = num.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw EngineError("\(source): no tensor named \"\(name)\"") }
        return e
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// Converts a floating tensor to F32 into `dst` (which must hold `count` floats).
    /// F32, F16, BF16 and F64 are read; other dtypes are refused with the tensor's name.
    public func read(_ name: String, into dst: UnsafeMutablePointer<Float>) throws {
        let e = try entry(name)
        let n = e.count
        try bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress! + dataStart + e.begin  // the buffer is non-empty: it holds the header
            switch e.dtype {
            case .F32:
                // memcpy is alignment-agnostic and the data is little-endian like the host.
                memcpy(dst, src, n * 4)
            case .F16:
                for i in 0..<n { dst[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .BF16:
                for i in 0..<n { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
            case .F64:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            default:
                throw EngineError("\(source): tensor \"\(name)\" has dtype \(e.dtype.rawValue); TokenScope reads F32, F16, BF16 and F64")
            }
        }
    }

    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        var data = [Float](repeating: 0, count: e.count)
        try data.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            try read(name, into: p)
        }
        return Tensor(shape: e.shape, data: data)
    }

    public func floats(_ name: String) throws -> [Float] { try tensor(name).data }

    /// A writer holding this file's tensors byte for byte (dtype, shape and file order kept) under
    /// `metadata`: how a file's metadata is changed without touching its weights.
    public func rewritten(metadata: [String: String]) -> SafeTensorsWriter {
        var w = SafeTensorsWriter(metadata: metadata)
        for name in names {
            guard let e = entries[name] else { continue }
            w.addRaw(name, dtype: e.dtype, shape: e.shape, bytes: Array(bytes[(dataStart + e.begin)..<(dataStart + e.end)]))
        }
        return w
    }
}

/// Builds a safetensors file in memory and writes it atomically. Tensors are stored F32 (or F16 on
/// request) in the order added; the header is padded with spaces so the data section starts at a
/// multiple of 8, as the reference writer does.
public struct SafeTensorsWriter {
    public enum StoreAs: Sendable { case f32, f16 }
    private var items: [(name: String, shape: [Int], dtype: SafeTensorsFile.DType, payload: [UInt8])] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ name: String, shape: [Int], data: UnsafeBufferPointer<Float>, as store: StoreAs = .f32) {
        precondition(shape.reduce(1, *) == data.count, "SafeTensorsWriter: \(name) has \(data.count) values for \(shape)")
        precondition(!items.contains { $0.name == name } && name != "__metadata__", "SafeTensorsWriter: duplicate \(name)")
        var payload: [UInt8]
        switch store {
        case .f32:
            payload = [UInt8](repeating: 0, count: data.count * 4)
            payload.withUnsafeMutableBytes { dst in
                if let b = data.baseAddress, !data.isEmpty { dst.baseAddress!.copyMemory(from: b, byteCount: data.count * 4) }
            }
            items.append((name, shape, .F32, payload))
        case .f16:
            payload = [UInt8](repeating: 0, count: data.count * 2)
            for (i, v) in data.enumerated() {
                let bits = Float16(v).bitPattern
                payload[2 * i] = UInt8(bits & 0xff)
                payload[2 * i + 1] = UInt8(bits >> 8)
            }
            items.append((name, shape, .F16, payload))
        }
    }

    public mutating func add(_ name: String, _ tensor: Tensor, as store: StoreAs = .f32) {
        tensor.data.withUnsafeBufferPointer { add(name, shape: tensor.shape, data: $0, as: store) }
    }

    public mutating func add(_ name: String, shape: [Int], data: [Float], as store: StoreAs = .f32) {
        data.withUnsafeBufferPointer { add(name, shape: shape, data: $0, as: store) }
    }

    /// Adds a tensor already encoded (used by tests to build files of any dtype).
    public mutating func addRaw(_ name: String, dtype: SafeTensorsFile.DType, shape: [Int], bytes: [UInt8]) {
        items.append((name, shape, dtype, bytes))
    }

    public func serialize() -> [UInt8] {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        for it in items {
            let shape = it.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(it.name)):{\"dtype\":\"\(it.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + it.payload.count)]}")
            offset += it.payload.count
        }
        header += parts.joined(separator: ",") + "}"
        var h = Array(header.utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + h.count + offset)
        let n = UInt64(h.count)
        for i in 0..<8 { out.append(UInt8((n >> (8 * UInt64(i))) & 0xff)) }
        out += h
        for it in items { out += it.payload }
        return out
    }

    public func write(to path: String) throws {
        try AtomicFile.write(serialize(), to: path)
    }
}

/// JSON string literal with the escapes RFC 8259 requires.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
