/// The expected tensors of a timm ViT, in timm's names and shapes, built from the configuration
/// (ggml's loader does the same): the file is checked against this table both ways, and the table
/// also lays out the parameter arena (and, with the same offsets, the gradient arena).
public struct ParameterTable: Sendable {
    public struct Item: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let items: [Item]
    public let count: Int
    private let index: [String: Int]

    public init(_ c: ViTConfig) {
        var items: [Item] = []
        var off = 0
        func add(_ name: String, _ shape: [Int]) {
            items.append(Item(name: name, shape: shape, offset: off))
            off += shape.reduce(1, *)
        }
        add("cls_token", [1, 1, c.dim])
        if c.distilled { add("dist_token", [1, 1, c.dim]) }
        add("pos_embed", [1, c.tokens, c.dim])
        add("patch_embed.proj.weight", [c.dim, c.channels, c.patchSize, c.patchSize])
        add("patch_embed.proj.bias", [c.dim])
        for i in 0..<c.depth {
            let p = "blocks.\(i)."
            add(p + "norm1.weight", [c.dim])
            add(p + "norm1.bias", [c.dim])
            add(p + "attn.qkv.weight", [3 * c.innerDim, c.dim])
            if c.qkvBias { add(p + "attn.qkv.bias", [3 * c.innerDim]) }
            add(p + "attn.proj.weight", [c.dim, c.innerDim])
            add(p + "attn.proj.bias", [c.dim])
            add(p + "norm2.weight", [c.dim])
            add(p + "norm2.bias", [c.dim])
            add(p + "mlp.fc1.weight", [c.mlpDim, c.dim])
            add(p + "mlp.fc1.bias", [c.mlpDim])
            add(p + "mlp.fc2.weight", [c.dim, c.mlpDim])
            add(p + "mlp.fc2.bias", [c.dim])
        }
        add("norm.weight", [c.dim])
        add("norm.bias", [c.dim])
        add("head.weight", [c.numClasses, c.dim])
        add("head.bias", [c.numClasses])
        if c.distilled {
            add("head_dist.weight", [c.numClasses, c.dim])
            add("head_dist.bias", [c.numClasses])
        }
        self.items = items
        self.count = off
        self.index = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1.name, $0) })
    }

    public subscript(name: String) -> Item? { index[name].map { items[$0] } }

    /// Checks a file against the table both ways. `ignoring` names tensors that belong to another
    /// layer of the format (e.g. Prune and Merge matrices) and are read elsewhere.
    public func check(_ file: SafeTensorsFile, ignoring: (String) -> Bool = { _ in false }) throws {
        for item in items {
            guard let e = file.entries[item.name] else {
                throw EngineError("\(file.source): missing tensor \(item.name), expected shape \(shapeString(item.shape)) for this configuration")
            }
            guard e.shape == item.shape else {
                throw EngineError("\(file.source): tensor \(item.name) has shape \(shapeString(e.shape)), expected \(shapeString(item.shape))")
            }
            guard [.F32, .F16, .BF16, .F64].contains(e.dtype) else {
                throw EngineError("\(file.source): tensor \(item.name) has dtype \(e.dtype.rawValue); TokenScope reads F32, F16, BF16 and F64")
            }
        }
        for name in file.names where index[name] == nil && !ignoring(name) {
            let e = file.entries[name]!
            throw EngineError("\(file.source): unexpected tensor \(name) \(shapeString(e.shape)): not part of a timm ViT with this configuration (unsupported architecture?)")
        }
    }
}

/// Named pointers into one arena laid out by a `ParameterTable` (parameters, or gradients with the
/// same layout), llm.c style. Optional tensors are nil when the configuration has none.
public struct ParameterViews {
    public struct Block {
        public var norm1W, norm1B: UnsafeMutablePointer<Float>
        public var qkvW: UnsafeMutablePointer<Float>
        public var qkvB: UnsafeMutablePointer<Float>?
        public var projW, projB: UnsafeMutablePointer<Float>
        public var norm2W, norm2B: UnsafeMutablePointer<Float>
        public var fc1W, fc1B, fc2W, fc2B: UnsafeMutablePointer<Float>
    }
    public var cls: UnsafeMutablePointer<Float>
    public var dist: UnsafeMutablePointer<Float>?
    public var pos: UnsafeMutablePointer<Float>
    public var patchW, patchB: UnsafeMutablePointer<Float>
    public var blocks: [Block]
    public var normW, normB: UnsafeMutablePointer<Float>
    public var headW, headB: UnsafeMutablePointer<Float>
    public var headDistW, headDistB: UnsafeMutablePointer<Float>?

    public init(table: ParameterTable, config c: ViTConfig, base: UnsafeMutablePointer<Float>) {
        // Every name looked up here is added by ParameterTable.init for this configuration.
        func v(_ n: String) -> UnsafeMutablePointer<Float> { base + table[n]!.offset }
        func o(_ n: String) -> UnsafeMutablePointer<Float>? { table[n].map { base + $0.offset } }
        cls = v("cls_token"); dist = o("dist_token"); pos = v("pos_embed")
        patchW = v("patch_embed.proj.weight"); patchB = v("patch_embed.proj.bias")
        blocks = (0..<c.depth).map { i in
            let p = "blocks.\(i)."
            return Block(norm1W: v(p + "norm1.weight"), norm1B: v(p + "norm1.bias"),
                         qkvW: v(p + "attn.qkv.weight"), qkvB: o(p + "attn.qkv.bias"),
                         projW: v(p + "attn.proj.weight"), projB: v(p + "attn.proj.bias"),
                         norm2W: v(p + "norm2.weight"), norm2B: v(p + "norm2.bias"),
                         fc1W: v(p + "mlp.fc1.weight"), fc1B: v(p + "mlp.fc1.bias"),
                         fc2W: v(p + "mlp.fc2.weight"), fc2B: v(p + "mlp.fc2.bias"))
        }
        normW = v("norm.weight"); normB = v("norm.bias")
        headW = v("head.weight"); headB = v("head.bias")
        headDistW = o("head_dist.weight"); headDistB = o("head_dist.bias")
    }
}
