import Engine
import Foundation

/// A Prune and Merge model: a dense timm ViT plus, for some blocks, the merge/recover matrices and
/// token mask (official tensor names `blocks.{i}.attn.merge_matrix`, `recover_matrix`, `token_mask`,
/// `bias`). Loads official checkpoints converted to safetensors and TokenScope's own.
public final class PMModel: @unchecked Sendable {
    public let dense: ViTModel
    /// Per block: nil where the block runs densely.
    public private(set) var blocks: [PMBlock?]
    public var metadata: [String: String]
    /// How compressed blocks restore the grid (metadata `recovery`; official when absent).
    public var recovery: PMRecovery

    static let suffixes = ["attn.merge_matrix", "attn.recover_matrix", "attn.token_mask", "attn.bias"]

    static func isPMTensor(_ name: String) -> Bool {
        name.hasPrefix("blocks.") && suffixes.contains { name.hasSuffix("." + $0) }
    }

    public init(dense: ViTModel, blocks: [PMBlock], metadata: [String: String] = [:], recovery: PMRecovery = .official) throws {
        self.dense = dense
        self.metadata = metadata
        self.recovery = recovery
        var per = [PMBlock?](repeating: nil, count: dense.config.depth)
        for b in blocks {
            try Self.check(b, dense.config, source: "plan")
            per[b.block] = b
        }
        self.blocks = per
    }

    /// Loads a checkpoint with merge matrices (any subset of blocks). A file without any is refused:
    /// it is a dense model.
    public convenience init(path: String, heads: Int? = nil, ignoring extra: (String) -> Bool = { _ in false }) throws {
        try self.init(file: try SafeTensorsFile(path: path), heads: heads, ignoring: extra)
    }

    /// As `init(path:)`, from a file already read (messages name `file.source`).
    public convenience init(file: SafeTensorsFile, heads: Int? = nil, ignoring extra: (String) -> Bool = { _ in false }) throws {
        let path = file.source
        let dense = try ViTModel(file: file, heads: heads, ignoring: { Self.isPMTensor($0) || extra($0) })
        let c = dense.config
        var blocks: [PMBlock] = []
        for i in 0..<c.depth {
            let p = "blocks.\(i).attn."
            guard let m = file.entries[p + "merge_matrix"] else {
                for s in Self.suffixes where file.contains("blocks.\(i)." + s) {
                    throw EngineError("\(path): blocks.\(i) has \(s) but no merge_matrix")
                }
                continue
            }
            let n = c.tokens
            guard m.shape.count == 2, m.shape[1] == n, m.shape[0] >= c.prefixTokens, m.shape[0] <= n else {
                throw EngineError("\(path): \(p)merge_matrix has shape \(shapeString(m.shape)), expected [C, \(n)] with \(c.prefixTokens) <= C <= \(n) for this model")
            }
            let ch = m.shape[0]
            func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
                guard let e = file.entries[p + name] else { throw EngineError("\(path): missing \(p)\(name) (expected \(shapeString(shape)))") }
                guard e.shape == shape else {
                    throw EngineError("\(path): \(p)\(name) has shape \(shapeString(e.shape)), expected \(shapeString(shape))")
                }
                return try file.floats(p + name)
            }
            let mask = try tensor("token_mask", [n])
            let bias = file.contains(p + "bias") ? try tensor("bias", [ch]) : [Float](repeating: 0, count: ch)
            blocks.append(PMBlock(block: i, tokens: n, channels: ch, tokenMask: mask, merge: try tensor("merge_matrix", [ch, n]),
                                  recover: try tensor("recover_matrix", [n, ch]), bias: bias, layout: nil))
        }
        guard !blocks.isEmpty else {
            throw EngineError("\(path) has no merge matrices (a dense model); compress it with `tokenscope compress` first")
        }
        try self.init(dense: dense, blocks: blocks, metadata: file.metadata,
                      recovery: try PMRecovery.from(metadata: file.metadata, path: path))
        // The layout (groups): the plan the file recorded (`plan_layout`; TokenScope's files), which
        // also tells kept-without-center from pruned and survives fine-tuning; otherwise read from
        // the matrices while they are still a plan's (one nonzero per column; official files).
        let planned = Self.plannedLayouts(file.metadata["plan_layout"], patches: c.numPatches)
        for i in self.blocks.indices {
            guard let b = self.blocks[i] else { continue }
            self.blocks[i]?.layout = planned[i].flatMap { Self.layout($0, weightsFrom: b, c) } ?? Self.inferLayout(b, c)
        }
    }

    /// The plan's groups as saved: per block, one code per patch (g >= 0 the patch's group, -1 kept
    /// with no center, -2 pruned) and the center of each group, so a fine-tuned file whose matrices
    /// are dense still shows the groups it was planned with.
    struct PlannedLayout: Codable, Equatable {
        var block: Int
        var group: [Int]
        var centers: [Int]
    }

    static func plannedLayouts(_ json: String?, patches p: Int) -> [Int: PlannedLayout] {
        guard let json, let list = try? JSONDecoder().decode([PlannedLayout].self, from: Data(json.utf8)) else { return [:] }
        var out: [Int: PlannedLayout] = [:]
        for l in list where l.group.count == p && l.group.allSatisfy({ $0 >= -2 && $0 < l.centers.count }) &&
            l.centers.allSatisfy({ $0 >= 0 && $0 < p }) { out[l.block] = l }
        return out
    }

    /// A planned layout with each member's weight read from the block's current merge matrix.
    static func layout(_ pl: PlannedLayout, weightsFrom b: PMBlock, _ c: ViTConfig) -> PMBlock.Layout? {
        let pre = c.prefixTokens, n = b.tokens
        guard pl.centers.count == b.channels - pre else { return nil }
        let states: [PatchState] = pl.group.enumerated().map { j, g in
            switch g {
            case -2: return .pruned
            case -1: return .unassigned
            default: return pl.centers[g] == j ? .center(group: g) : .merged(group: g, weight: b.merge[(pre + g) * n + pre + j])
            }
        }
        return PMBlock.Layout(centers: pl.centers, states: states)
    }

    /// Per patch: its group, -1 kept with no center, -2 pruned.
    static func codes(_ states: [PatchState]) -> [Int] {
        states.map { st in
            switch st {
            case .pruned: return -2
            case .center(let g), .merged(let g, _): return g
            default: return -1
            }
        }
    }

    /// The JSON `plannedLayouts` reads, for every block with a layout.
    var plannedLayoutJSON: String? {
        let list: [PlannedLayout] = blocks.compactMap { b in
            guard let b, let l = b.layout else { return nil }
            return PlannedLayout(block: b.block, group: Self.codes(l.states), centers: l.centers)
        }
        guard !list.isEmpty else { return nil }
        return try? stableJSON(list)
    }

    static func check(_ b: PMBlock, _ c: ViTConfig, source: String) throws {
        let n = c.tokens
        guard b.block >= 0, b.block < c.depth, b.tokens == n, b.channels >= c.prefixTokens, b.channels <= n,
              b.tokenMask.count == n, b.merge.count == b.channels * n, b.recover.count == n * b.channels, b.bias.count == b.channels else {
            throw EngineError("\(source): block \(b.block)'s matrices do not match this model (\(n) tokens, \(c.depth) blocks)")
        }
        guard b.tokenMask.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw EngineError("\(source): block \(b.block)'s token_mask holds values other than 0 and 1") }
        guard b.merge.allSatisfy(\.isFinite), b.recover.allSatisfy(\.isFinite) else {
            throw EngineError("\(source): block \(b.block)'s matrices hold NaN or infinite values")
        }
    }

    /// Centers and members from a merge matrix whose columns have at most one nonzero weight. The
    /// center of a group is its largest weight, which a plan sets to s / (s + 1e-8), 1 up to rounding.
    static func inferLayout(_ b: PMBlock, _ c: ViTConfig) -> PMBlock.Layout? {
        let pre = c.prefixTokens, n = b.tokens, p = c.numPatches, groups = b.channels - pre
        var rowOf = [Int](repeating: -1, count: p)
        for j in 0..<p {
            for r in pre..<b.channels where b.merge[r * n + pre + j] != 0 {
                if rowOf[j] >= 0 { return nil }
                rowOf[j] = r - pre
            }
            if b.tokenMask[pre + j] == 0 && rowOf[j] >= 0 { return nil }
        }
        var centers = [Int](repeating: -1, count: groups)
        for j in 0..<p where rowOf[j] >= 0 {
            let g = rowOf[j]
            if centers[g] < 0 || b.merge[(pre + g) * n + pre + j] > b.merge[(pre + g) * n + pre + centers[g]] { centers[g] = j }
        }
        guard centers.enumerated().allSatisfy({ $1 >= 0 && abs(b.merge[(pre + $0) * n + pre + $1] - 1) < 1e-4 }) else { return nil }
        let states: [PatchState] = (0..<p).map { j in
            if b.tokenMask[pre + j] == 0 { return .pruned }
            let g = rowOf[j]
            if g < 0 { return .unassigned }
            return centers[g] == j ? .center(group: g) : .merged(group: g, weight: b.merge[(pre + g) * n + pre + j])
        }
        return PMBlock.Layout(centers: centers, states: states)
    }

    /// Replaces a compressed block's matrices (after fine-tuning). When they no longer have one
    /// weight per column, the plan's groups are kept, with the members' weights read from the new matrix.
    public func setMatrices(block i: Int, merge: [Float], recover: [Float]) {
        guard var b = blocks[i], merge.count == b.merge.count, recover.count == b.recover.count else { return }
        let before = b.layout
        b.merge = merge
        b.recover = recover
        b.layout = Self.inferLayout(b, dense.config) ?? before.flatMap { l in
            Self.layout(PlannedLayout(block: i, group: Self.codes(l.states), centers: l.centers), weightsFrom: b, dense.config)
        }
        blocks[i] = b
    }

    /// Tokens each block runs on (C for compressed blocks, N otherwise), CLS included.
    public var channels: [Int] { blocks.enumerated().map { $1?.channels ?? dense.config.tokens } }

    /// Writes the compressed model in the official tensor names, F32, atomically.
    public func save(to path: String, metadata extra: [String: String]) throws {
        var meta = extra
        meta["format"] = "pt"
        meta["config"] = dense.config.metadataJSON
        meta["channels"] = "[" + channels.map(String.init).joined(separator: ", ") + "]"
        meta["merge_list"] = "[" + blocks.compactMap { $0?.block }.map(String.init).joined(separator: ", ") + "]"
        meta["head_dim"] = String(dense.config.headDim)
        meta[PMRecovery.metadataKey] = recovery == .official ? nil : recovery.rawValue
        if let plan = plannedLayoutJSON { meta["plan_layout"] = plan }
        for k in ["mean", "std", "crop_pct", "labels"] where meta[k] == nil { meta[k] = dense.metadata[k] }
        var w = SafeTensorsWriter(metadata: meta)
        addTensors(to: &w)
        try w.write(to: path)
    }

    /// Dense parameters and each compressed block's tensors, in the official order and names.
    public func addTensors(to w: inout SafeTensorsWriter) {
        for item in dense.table.items {
            w.add(item.name, shape: item.shape, data: UnsafeBufferPointer(start: dense.params.base + item.offset, count: item.count))
            if item.name.hasSuffix("attn.proj.bias"), let i = Int(item.name.split(separator: ".")[1]), let b = blocks[i] {
                let p = "blocks.\(i).attn."
                w.add(p + "merge_matrix", shape: [b.channels, b.tokens], data: b.merge)
                w.add(p + "recover_matrix", shape: [b.tokens, b.channels], data: b.recover)
                w.add(p + "token_mask", shape: [b.tokens], data: b.tokenMask)
                w.add(p + "bias", shape: [b.channels], data: b.bias)
            }
        }
    }

    /// Multiply-adds x 2 per image, counted honestly: every block at its token count, the merge and
    /// recover products, patch embedding, and the head once.
    public var flopsPerImage: Double {
        let c = dense.config
        return c.embedAndHeadFlops + channels.reduce(0) { $0 + c.blockFlops(tokens: $1) } +
            blocks.compactMap { $0 }.reduce(0) { $0 + mergeRecoverFlops($1) }
    }

    /// The merge [C, N] and recover [N, C] products on [N, D] / [C, D] tokens, x 2.
    public func mergeRecoverFlops(_ b: PMBlock) -> Double {
        2 * 2 * Double(b.channels) * Double(b.tokens) * Double(dense.config.dim)
    }

    /// The official code's `flops()` (pm-vit/tmvit.py), reported as it is (`OfficialFlops`): every
    /// block at its token count, classifier x patch count, no patch embedding, no merge/recover. MACs.
    public var officialFlops: Double {
        OfficialFlops.model(dense.config, tokens: channels.map { TokenCount(attention: $0, mlp: $0) })
    }
}
