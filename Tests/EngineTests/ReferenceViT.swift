import Foundation
@testable import Engine

/// A deliberately naive ViT forward in Double, written from the formulas (timm's Block, exact erf
/// GELU, LayerNorm eps 1e-6), sharing no code with the engine's ops. Tests use it as an independent
/// reference where no PyTorch fixture exists (wide attention, distilled heads, odd shapes).
struct ReferenceViT {
    let c: ViTConfig
    let p: [String: [Double]]

    init(_ model: ViTModel) {
        c = model.config
        var p: [String: [Double]] = [:]
        for item in model.table.items { p[item.name] = model.parameter(item.name)!.data.map(Double.init) }
        self.p = p
    }

    func layerNorm(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
        let n = Double(x.count)
        let m = x.reduce(0, +) / n
        let v = x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / n
        return x.indices.map { (x[$0] - m) / (v + 1e-6).squareRoot() * w[$0] + b[$0] }
    }

    /// y = W x + b with W [out, in].
    func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, out: Int) -> [Double] {
        let inn = x.count
        return (0..<out).map { o in
            var s = b?[o] ?? 0
            for i in 0..<inn { s += w[o * inn + i] * x[i] }
            return s
        }
    }

    /// Logits [classes] and each block's tokens [T][D] for one CHW image.
    func forward(image: [Float]) -> (logits: [Double], tokens: [[[Double]]]) {
        let d = c.dim, g = c.grid, ps = c.patchSize, s = c.imageSize
        var x: [[Double]] = [Array(p["cls_token"]!)]
        if c.distilled { x.append(p["dist_token"]!) }
        for gy in 0..<g {
            for gx in 0..<g {
                var v = [Double](repeating: 0, count: c.patchDim)
                for ch in 0..<c.channels { for ky in 0..<ps { for kx in 0..<ps {
                    v[ch * ps * ps + ky * ps + kx] = Double(image[ch * s * s + (gy * ps + ky) * s + gx * ps + kx])
                } } }
                x.append(linear(v, p["patch_embed.proj.weight"]!, p["patch_embed.proj.bias"]!, out: d))
            }
        }
        let pos = p["pos_embed"]!
        for t in x.indices { for e in 0..<d { x[t][e] += pos[t * d + e] } }
        var all: [[[Double]]] = []
        let hd = c.headDim, inner = c.innerDim, tn = x.count
        for l in 0..<c.depth {
            let b = "blocks.\(l)."
            let qkv = x.map { linear(layerNorm($0, p[b + "norm1.weight"]!, p[b + "norm1.bias"]!), p[b + "attn.qkv.weight"]!, p[b + "attn.qkv.bias"], out: 3 * inner) }
            var att = [[Double]](repeating: [Double](repeating: 0, count: inner), count: tn)
            for h in 0..<c.heads {
                for i in 0..<tn {
                    var logits = (0..<tn).map { j -> Double in
                        var s = 0.0
                        for e in 0..<hd { s += qkv[i][h * hd + e] * qkv[j][inner + h * hd + e] }
                        return s / Double(hd).squareRoot()
                    }
                    let mx = logits.max()!
                    logits = logits.map { Foundation.exp($0 - mx) }
                    let z = logits.reduce(0, +)
                    for j in 0..<tn { for e in 0..<hd { att[i][h * hd + e] += logits[j] / z * qkv[j][2 * inner + h * hd + e] } }
                }
            }
            for t in 0..<tn {
                let pr = linear(att[t], p[b + "attn.proj.weight"]!, p[b + "attn.proj.bias"]!, out: d)
                for e in 0..<d { x[t][e] += pr[e] }
                let h1 = linear(layerNorm(x[t], p[b + "norm2.weight"]!, p[b + "norm2.bias"]!), p[b + "mlp.fc1.weight"]!, p[b + "mlp.fc1.bias"]!, out: c.mlpDim)
                let g1 = h1.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
                let h2 = linear(g1, p[b + "mlp.fc2.weight"]!, p[b + "mlp.fc2.bias"]!, out: d)
                for e in 0..<d { x[t][e] += h2[e] }
            }
            all.append(x)
        }
        let cls = layerNorm(x[0], p["norm.weight"]!, p["norm.bias"]!)
        var logits = linear(cls, p["head.weight"]!, p["head.bias"]!, out: c.numClasses)
        if c.distilled {
            let dist = linear(layerNorm(x[1], p["norm.weight"]!, p["norm.bias"]!), p["head_dist.weight"]!, p["head_dist.bias"]!, out: c.numClasses)
            logits = logits.indices.map { (logits[$0] + dist[$0]) / 2 }
        }
        return (logits, all)
    }
}

/// Deterministic pseudo-random numbers for tests (SplitMix64), so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float { (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float(scale) } }
}
