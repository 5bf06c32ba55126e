import Foundation

/// A timm ViT/DeiT: configuration, parameters in one arena (timm layout, so a checkpoint's bytes
/// copy straight in), named views into it, and what the file's metadata says about inputs.
public final class ViTModel: @unchecked Sendable {
    public let config: ViTConfig
    public let table: ParameterTable
    public let params: Arena
    public let views: ParameterViews
    /// The file's `__metadata__` (empty for a model built in memory).
    public let metadata: [String: String]
    /// Where the model came from, for messages.
    public let source: String
    public var preprocessing: ModelPreprocessing
    /// Class names from the metadata (`labels`: a JSON array), if any.
    public var classNames: [String]?
    /// Set by `packWeights()`; read by every forward pass, written only while none runs.
    var packedBlocks: [PackedBlock]?

    /// A model with zeroed parameters (training initialises them; tests fill them).
    public init(config: ViTConfig, source: String = "<memory>", metadata: [String: String] = [:]) throws {
        try config.validate()
        self.config = config
        self.table = ParameterTable(config)
        self.params = Arena(count: table.count)
        self.views = ParameterViews(table: table, config: config, base: params.base)
        self.metadata = metadata
        self.source = source
        self.preprocessing = ModelPreprocessing(metadata: metadata, channels: config.channels)
        self.classNames = Self.labels(from: metadata, count: config.numClasses)
    }

    /// Loads a safetensors checkpoint in timm's tensor names. The configuration comes from the
    /// metadata where present, otherwise from the tensor shapes; `heads` overrides both.
    /// `ignoring` lets callers (Prune and Merge) accept tensors they read themselves.
    public convenience init(path: String, heads: Int? = nil, ignoring: (String) -> Bool = { _ in false }) throws {
        let file = try SafeTensorsFile(path: path)
        try self.init(file: file, heads: heads, ignoring: ignoring)
    }

    public convenience init(file: SafeTensorsFile, heads: Int? = nil, ignoring: (String) -> Bool = { _ in false }) throws {
        let config = try ViTConfig.resolve(from: file, heads: heads)
        try self.init(config: config, source: file.source, metadata: file.metadata)
        try table.check(file, ignoring: ignoring)
        for item in table.items {
            try file.read(item.name, into: params.base + item.offset)
        }
    }

    /// Copies the parameters out, for writing or comparing.
    public func parameter(_ name: String) -> Tensor? {
        guard let item = table[name] else { return nil }
        return Tensor(shape: item.shape, data: params.array(offset: item.offset, count: item.count))
    }

    /// Writes the parameters as a timm-compatible safetensors file (F32, or F16 to ship smaller).
    /// `replacing` drops the metadata the model was loaded with (e.g. a training checkpoint's).
    public func save(to path: String, metadata extra: [String: String] = [:], replacing: Bool = false,
                     as store: SafeTensorsWriter.StoreAs = .f32) throws {
        var meta = replacing ? [:] : metadata
        meta["format"] = "pt"
        meta["config"] = config.metadataJSON
        for (k, v) in extra { meta[k] = v }
        var w = SafeTensorsWriter(metadata: meta)
        for item in table.items {
            w.add(item.name, shape: item.shape, data: UnsafeBufferPointer(start: params.base + item.offset, count: item.count), as: store)
        }
        try w.write(to: path)
    }

    static func labels(from metadata: [String: String], count: Int) -> [String]? {
        guard let s = metadata["labels"], let data = s.data(using: .utf8),
              let arr = try? JSONSerialization.jsonObject(with: data) as? [String], arr.count == count else { return nil }
        return arr
    }
}

/// How a model expects its images: mean/std per channel and the eval crop, from the metadata
/// (`mean`, `std`, `crop_pct` as JSON) or timm's DeiT defaults (ImageNet statistics, crop 0.9).
public struct ModelPreprocessing: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    public var cropPct: Double

    public init(mean: [Float], std: [Float], cropPct: Double) {
        self.mean = mean; self.std = std; self.cropPct = cropPct
    }

    public init(metadata: [String: String], channels: Int) {
        func floats(_ key: String) -> [Float]? {
            guard let s = metadata[key], let d = s.data(using: .utf8),
                  let a = try? JSONSerialization.jsonObject(with: d) as? [NSNumber], a.count == channels else { return nil }
            let v = a.map { $0.floatValue }
            return v.allSatisfy(\.isFinite) ? v : nil
        }
        let imagenetMean: [Float] = [0.485, 0.456, 0.406], imagenetStd: [Float] = [0.229, 0.224, 0.225]
        mean = floats("mean") ?? (channels == 3 ? imagenetMean : [Float](repeating: 0.5, count: channels))
        std = (floats("std").flatMap { $0.allSatisfy { $0 > 0 } ? $0 : nil }) ?? (channels == 3 ? imagenetStd : [Float](repeating: 0.5, count: channels))
        if let s = metadata["crop_pct"], let v = Double(s), v > 0.05, v <= 1 { cropPct = v } else { cropPct = 0.9 }
    }
}

extension ViTConfig {
    /// Works out the configuration of a checkpoint: first from the tensor shapes (timm names), then
    /// the metadata's `config` JSON where it gives a field, then `heads` from the command line.
    /// Heads, when nothing says, are inner width / 64 (every DeiT and ViT in timm has head dim 64).
    public static func resolve(from file: SafeTensorsFile, heads cliHeads: Int? = nil) throws -> ViTConfig {
        let src = file.source
        func need(_ name: String, rank: Int) throws -> [Int] {
            guard let e = file.entries[name] else {
                throw EngineError("\(src): missing tensor \(name); TokenScope loads timm ViT/DeiT checkpoints (class token, patch embedding, timm tensor names)")
            }
            guard e.shape.count == rank else {
                throw EngineError("\(src): tensor \(name) has shape \(shapeString(e.shape)), expected \(rank) dimensions")
            }
            return e.shape
        }
        let pw = try need("patch_embed.proj.weight", rank: 4)
        guard pw[2] == pw[3] else { throw EngineError("\(src): non-square patches \(pw[2])x\(pw[3]) are not supported") }
        let dim = pw[0], channels = pw[1], patch = pw[2]
        _ = try need("cls_token", rank: 3)
        let pos = try need("pos_embed", rank: 3)
        let distilled = file.contains("dist_token")
        let prefix = distilled ? 2 : 1
        let patches = pos[1] - prefix
        let grid = Int(Double(max(patches, 0)).squareRoot().rounded())
        guard patches > 0, grid * grid == patches else {
            throw EngineError("\(src): pos_embed has \(pos[1]) tokens, which is not \(prefix) prefix token(s) plus a square grid of patches")
        }
        var depth = 0
        while file.contains("blocks.\(depth).norm1.weight") { depth += 1 }
        guard depth > 0 else { throw EngineError("\(src): no transformer blocks (blocks.0.norm1.weight is missing)") }
        let qkv = try need("blocks.0.attn.qkv.weight", rank: 2)
        guard qkv[0] % 3 == 0 else { throw EngineError("\(src): blocks.0.attn.qkv.weight has \(qkv[0]) rows, not a multiple of 3") }
        let inner = qkv[0] / 3
        let mlp = try need("blocks.0.mlp.fc1.weight", rank: 2)[0]
        let classes = try need("head.weight", rank: 2)[0]

        var c = ViTConfig(imageSize: grid * patch, patchSize: patch, channels: channels, dim: dim, depth: depth,
                          heads: 1, headDim: inner, mlpDim: mlp, numClasses: classes, distilled: distilled,
                          qkvBias: file.contains("blocks.0.attn.qkv.bias"))
        var metaHeads: Int?
        var metaHeadDim = file.metadata["head_dim"].flatMap { Int($0) }
        if let s = file.metadata["config"], let d = s.data(using: .utf8),
           let j = try? JSONSerialization.jsonObject(with: d) as? [String: Any] {
            func int(_ k: String) -> Int? {
                guard let n = j[k] as? NSNumber, type(of: n) == NSNumber.self else { return nil }
                let v = n.doubleValue
                return v.isFinite && v == v.rounded() && abs(v) < 1e9 ? Int(v) : nil
            }
            if let v = int("img") { c.imageSize = v }
            if let v = int("patch") { c.patchSize = v }
            if let v = int("channels") { c.channels = v }
            if let v = int("dim") { c.dim = v }
            if let v = int("depth") { c.depth = v }
            if let v = int("mlp") { c.mlpDim = v }
            if let v = int("classes") { c.numClasses = v }
            if let v = int("heads") { metaHeads = v }
            if let v = int("head_dim") { metaHeadDim = v }
            if let b = j["distilled"] as? Bool { c.distilled = b }
            if let b = j["qkv_bias"] as? Bool { c.qkvBias = b }
        }
        let heads: Int
        if let h = cliHeads {
            guard h > 0, inner % h == 0 else { throw EngineError("--heads \(h) does not divide the attention width \(inner)") }
            heads = h
        } else if let h = metaHeads, h > 0, inner % h == 0 {
            heads = h
        } else if let hd = metaHeadDim, hd > 0, inner % hd == 0 {
            heads = inner / hd
        } else if inner % 64 == 0 {
            heads = inner / 64
        } else {
            throw EngineError("\(src): cannot tell the number of heads (attention width \(inner) is not a multiple of 64); pass --heads")
        }
        c.heads = heads
        c.headDim = inner / heads
        try c.validate()
        return c
    }
}
