import Foundation
import Engine

/// Deliberately naive Double references for the token reduction tests, written from the authors'
/// code (tome/merge.py + tome/patch/timm.py, evit.py) and sharing no code with the engine: a ViT
/// forward split at the point where the methods act, ToMe's matching and weighted merge with an
/// explicit source (set of patches per token), and EViT's top-k and fusion.
struct NaiveViT {
    let c: ViTConfig
    let p: [String: [Double]]

    init(_ model: ViTModel) {
        c = model.config
        var p: [String: [Double]] = [:]
        for item in model.table.items { p[item.name] = model.parameter(item.name).map { $0.data.map(Double.init) } ?? [] }
        self.p = p
    }

    subscript(_ name: String) -> [Double] { p[name] ?? [] }

    func layerNorm(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
        let n = Double(x.count)
        let m = x.reduce(0, +) / n
        let v = x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / n
        let rstd: Double = 1 / (v + 1e-6).squareRoot()
        var out = x
        for i in x.indices { out[i] = (x[i] - m) * rstd * w[i] + b[i] }
        return out
    }

    func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, out: Int) -> [Double] {
        var y = [Double](repeating: 0, count: out)
        for o in 0..<out {
            var s: Double = b?[o] ?? 0
            for i in x.indices { s += w[o * x.count + i] * x[i] }
            y[o] = s
        }
        return y
    }

    /// Tokens [T][D] of one CHW image: CLS (DIST), patches, + pos_embed.
    func embed(_ image: [Float]) -> [[Double]] {
        let d = c.dim, g = c.grid, ps = c.patchSize, s = c.imageSize
        var x: [[Double]] = [self["cls_token"]]
        if c.distilled { x.append(self["dist_token"]) }
        for gy in 0..<g {
            for gx in 0..<g {
                var v = [Double](repeating: 0, count: c.patchDim)
                for ch in 0..<c.channels { for ky in 0..<ps { for kx in 0..<ps {
                    v[ch * ps * ps + ky * ps + kx] = Double(image[ch * s * s + (gy * ps + ky) * s + gx * ps + kx])
                } } }
                x.append(linear(v, self["patch_embed.proj.weight"], self["patch_embed.proj.bias"], out: d))
            }
        }
        let pos = self["pos_embed"]
        for t in x.indices { for e in 0..<d { x[t][e] += pos[t * d + e] } }
        return x
    }

    /// x + proj(attn(LN1(x))), with + bias[j] on every logit of key j; also the attention
    /// probabilities [H][T][T] and the keys [T][H * hd].
    func attention(_ l: Int, _ x: [[Double]], bias: [Double]?) -> (x: [[Double]], att: [[[Double]]], keys: [[Double]]) {
        let b = "blocks.\(l).", hd = c.headDim, inner = c.innerDim, t = x.count
        let qkv = x.map { linear(layerNorm($0, self[b + "norm1.weight"], self[b + "norm1.bias"]), self[b + "attn.qkv.weight"],
                                 p[b + "attn.qkv.bias"], out: 3 * inner) }
        var out = [[Double]](repeating: [Double](repeating: 0, count: inner), count: t)
        var probs = [[[Double]]](repeating: [], count: c.heads)
        for h in 0..<c.heads {
            for i in 0..<t {
                var logits = [Double](repeating: 0, count: t)
                for j in 0..<t {
                    var dot = 0.0
                    for e in 0..<hd { dot += qkv[i][h * hd + e] * qkv[j][inner + h * hd + e] }
                    logits[j] = dot / Double(hd).squareRoot() + (bias?[j] ?? 0)
                }
                let mx = logits.max() ?? 0
                logits = logits.map { Foundation.exp($0 - mx) }
                let z = logits.reduce(0, +)
                let a = logits.map { $0 / z }
                probs[h].append(a)
                for j in 0..<t { for e in 0..<hd { out[i][h * hd + e] += a[j] * qkv[j][2 * inner + h * hd + e] } }
            }
        }
        var y = x
        for i in 0..<t {
            let pr = linear(out[i], self[b + "attn.proj.weight"], self[b + "attn.proj.bias"], out: c.dim)
            for e in 0..<c.dim { y[i][e] += pr[e] }
        }
        return (y, probs, qkv.map { Array($0[inner..<(2 * inner)]) })
    }

    func mlp(_ l: Int, _ x: [[Double]]) -> [[Double]] {
        let b = "blocks.\(l)."
        return x.map { row in
            let h1 = linear(layerNorm(row, self[b + "norm2.weight"], self[b + "norm2.bias"]), self[b + "mlp.fc1.weight"], self[b + "mlp.fc1.bias"], out: c.mlpDim)
            let g1 = h1.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
            let h2 = linear(g1, self[b + "mlp.fc2.weight"], self[b + "mlp.fc2.bias"], out: c.dim)
            return row.indices.map { row[$0] + h2[$0] }
        }
    }

    func head(_ x: [[Double]]) -> [Double] {
        var logits = linear(layerNorm(x[0], self["norm.weight"], self["norm.bias"]), self["head.weight"], self["head.bias"], out: c.numClasses)
        if c.distilled {
            let dist = linear(layerNorm(x[1], self["norm.weight"], self["norm.bias"]), self["head_dist.weight"], self["head_dist.bias"], out: c.numClasses)
            logits = logits.indices.map { (logits[$0] + dist[$0]) / 2 }
        }
        return logits
    }
}

/// The state a reduction carries per token, naively: the patches it holds, its anchor, its size.
struct NaiveTokens {
    var x: [[Double]]
    var size: [Double]
    var source: [Set<Int>]
    var anchor: [Int]
    var fused: [Bool]

    init(_ x: [[Double]], prefix: Int) {
        self.x = x
        size = [Double](repeating: 1, count: x.count)
        source = x.indices.map { $0 < prefix ? [] : [$0 - prefix] }
        anchor = x.indices.map { $0 < prefix ? -1 : $0 - prefix }
        fused = [Bool](repeating: false, count: x.count)
    }

    /// The full grid: prefix rows, then each patch's token.
    func grid(prefix: Int, patches: Int) -> [[Double]] {
        var holder = [Int](repeating: -1, count: patches)
        for (t, s) in source.enumerated() { for p in s { holder[p] = t } }
        return Array(x[0..<prefix]) + holder.map { x[$0] }
    }
}

enum NaiveToMe {
    /// bipartite_soft_matching + merge_wavg + merge_source on one image (`keys` [T][H * hd]).
    static func merge(_ s: NaiveTokens, keys: [[Double]], r want: Int, heads: Int, headDim hd: Int, distilled: Bool) -> NaiveTokens {
        let t = s.x.count, protected = distilled ? 2 : 1
        let r = min(want, (t - protected) / 2)
        if r <= 0 { return s }
        let metric: [[Double]] = keys.map { k in
            let m = (0..<hd).map { e in (0..<heads).reduce(0.0) { $0 + k[$1 * hd + e] } / Double(heads) }
            let n = m.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return m.map { $0 / n }
        }
        let a = stride(from: 0, to: t, by: 2).map { $0 }, b = stride(from: 1, to: t, by: 2).map { $0 }
        var nodeMax = [Double](repeating: -.infinity, count: a.count), nodeIdx = [Int](repeating: 0, count: a.count)
        for i in a.indices {
            for j in b.indices {
                var score = zip(metric[a[i]], metric[b[j]]).reduce(0) { $0 + $1.0 * $1.1 }
                if i == 0 || (distilled && j == 0) { score = -.infinity }
                if score > nodeMax[i] { nodeMax[i] = score; nodeIdx[i] = j }  // first maximum wins
            }
        }
        let edge = a.indices.sorted { nodeMax[$0] != nodeMax[$1] ? nodeMax[$0] > nodeMax[$1] : $0 < $1 }
        let src = Array(edge.prefix(r)), unm = edge.dropFirst(r).sorted()
        // Destinations start as themselves (x * s), sources add in ranking order.
        var dx = b.map { j in s.x[j].map { $0 * s.size[j] } }, ds = b.map { s.size[$0] }
        var dsrc = b.map { s.source[$0] }
        for i in src {
            let j = nodeIdx[i], o = a[i]
            for e in dx[j].indices { dx[j][e] += s.x[o][e] * s.size[o] }
            ds[j] += s.size[o]
            dsrc[j].formUnion(s.source[o])
        }
        var out = s
        let unmIdx = unm.map { a[$0] }
        var order: [(x: [Double], size: Double, source: Set<Int>, anchor: Int)] = []
        let unmRows = unmIdx.map { o in (x: s.x[o].map { $0 * s.size[o] }, size: s.size[o], source: s.source[o], anchor: s.anchor[o]) }
        let dstRows = b.indices.map { j in (x: dx[j], size: ds[j], source: dsrc[j], anchor: s.anchor[b[j]]) }
        if distilled {
            order = [unmRows[0], dstRows[0]] + Array(unmRows.dropFirst()) + Array(dstRows.dropFirst())
        } else {
            order = unmRows + dstRows
        }
        out.x = order.map { row in row.x.map { $0 / row.size } }
        out.size = order.map(\.size)
        out.source = order.map(\.source)
        out.anchor = order.map(\.anchor)
        out.fused = [Bool](repeating: false, count: order.count)
        return out
    }

    /// Logits and the tokens after every block of one image.
    static func forward(_ v: NaiveViT, image: [Float], r: [Int], proportional: Bool) -> (logits: [Double], layers: [NaiveTokens]) {
        let c = v.c
        var s = NaiveTokens(v.embed(image), prefix: c.prefixTokens)
        var merged = false
        var layers: [NaiveTokens] = []
        for l in 0..<c.depth {
            let att = v.attention(l, s.x, bias: proportional && merged ? s.size.map { Foundation.log($0) } : nil)
            s.x = att.x
            let before = s.x.count
            s = merge(s, keys: att.keys, r: r[l], heads: c.heads, headDim: c.headDim, distilled: c.distilled)
            if s.x.count < before { merged = true }
            s.x = v.mlp(l, s.x)
            layers.append(s)
        }
        return (v.head(s.x), layers)
    }
}

enum NaiveEViT {
    /// evit.py's keep-and-fuse on one image (`att` [H][T][T]).
    static func fuse(_ s: NaiveTokens, att: [[[Double]]], keepRate: Double, prefix: Int) -> NaiveTokens {
        let t = s.x.count, n = t - prefix
        let k = Int((keepRate * Double(n)).rounded(.up))
        if k == n { return s }
        let a = (0..<n).map { j in att.reduce(0.0) { $0 + $1[0][prefix + j] } / Double(att.count) }
        let idx = (0..<n).sorted { a[$0] != a[$1] ? a[$0] > a[$1] : $0 < $1 }
        let kept = Array(idx.prefix(k)), rest = idx.dropFirst(k).sorted()
        var out = s
        let rows = Array(0..<prefix) + kept.map { prefix + $0 }
        out.x = rows.map { s.x[$0] }
        out.size = rows.map { s.size[$0] }
        out.source = rows.map { s.source[$0] }
        out.anchor = rows.map { s.anchor[$0] }
        out.fused = rows.map { s.fused[$0] }
        var f = [Double](repeating: 0, count: s.x[0].count)
        var src = Set<Int>()
        for j in rest {
            for e in f.indices { f[e] += a[j] * s.x[prefix + j][e] }
            src.formUnion(s.source[prefix + j])
        }
        out.x.append(f)
        out.size.append(Double(src.count))
        out.source.append(src)
        out.anchor.append(-1)
        out.fused.append(true)
        return out
    }

    static func forward(_ v: NaiveViT, image: [Float], keepRate: Double, blocks: [Int]) -> (logits: [Double], layers: [NaiveTokens]) {
        let c = v.c
        var s = NaiveTokens(v.embed(image), prefix: c.prefixTokens)
        var layers: [NaiveTokens] = []
        for l in 0..<c.depth {
            let att = v.attention(l, s.x, bias: nil)
            s.x = att.x
            if blocks.contains(l) { s = fuse(s, att: att.att, keepRate: keepRate, prefix: c.prefixTokens) }
            s.x = v.mlp(l, s.x)
            layers.append(s)
        }
        return (v.head(s.x), layers)
    }
}

/// A tiny ViT with seeded random weights (1 channel, 4x4 grid of 4x4 patches, dim 16, 2 heads).
func tinyModel(seed: UInt64, depth: Int = 3, distilled: Bool = false, scale: Float = 0.5) throws -> ViTModel {
    let cfg = ViTConfig(imageSize: 16, patchSize: 4, channels: 1, dim: 16, depth: depth, heads: 2, numClasses: 5, distilled: distilled)
    let model = try ViTModel(config: cfg)
    var rng = SplitMix64(seed: seed)
    for i in 0..<model.table.count { model.params.base[i] = (rng.nextUniform() * 2 - 1) * scale }
    return model
}

func randomImages(_ n: Int, _ c: ViTConfig, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<(n * c.channels * c.imageSize * c.imageSize)).map { _ in rng.nextNormal() }
}

func maxAbsDiff(_ a: [Float], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}
