import Engine
import Foundation

/// How many patches (or how much similarity-scaled weight) each current token stands for, per
/// image, for the merging methods (ToMe, PiToMe, DiffRate): two buffers so a reduction reads the
/// old sizes and writes the new ones, and their logarithms as the attention's key bias for
/// proportional attention (+ log size per key). Every token starts at 1 (CLS and DIST included);
/// until a merge there is no bias, as the methods' size is None until then (log 1 = 0 anyway).
///
///     sizes [B, t] -> [B, u] per reduction;  log [B, u]
final class TokenSizes {
    private var buffers: [Arena]
    private var current = 0
    private let logs: Arena
    private let tokens: Int
    /// Whether a reduction has merged since the pass began.
    private(set) var merged = false

    init(config c: ViTConfig, batch: Int) {
        tokens = c.tokens
        let n = batch * c.tokens
        buffers = [Arena(count: n, zeroed: false), Arena(count: n, zeroed: false)]
        logs = Arena(count: n)
    }

    /// Every token back to size 1, for a pass of b images.
    func reset(batch b: Int) {
        buffers[0].base.update(repeating: 1, count: b * tokens)
        current = 0
        merged = false
    }

    /// The sizes before this reduction ([B, t] packed at its token count) and the ones it writes.
    var old: SendablePointer<Float> { SendablePointer(buffers[current].base) }
    var new: SendablePointer<Float> { SendablePointer(buffers[1 - current].base) }

    /// After the reduction has written `new` at u tokens per image: logs for the next blocks.
    func commit(batch b: Int, tokens u: Int, merged didMerge: Bool = true, withLogs: Bool) {
        let n = buffers[1 - current].base
        if withLogs { for j in 0..<(b * u) { logs.base[j] = Foundation.log(n[j]) } }
        current = 1 - current
        if didMerge { merged = true }
    }

    /// The key bias for proportional attention, or nil before any merge.
    var keyBias: UnsafePointer<Float>? { merged ? UnsafePointer(logs.base) : nil }
}

/// A reducer that merges and keeps `TokenSizes`: resetting them is its reset, and with
/// proportional attention their logarithms are its key bias.
protocol SizeTrackingReducer: TokenReducer {
    var sizes: TokenSizes { get }
    var proportionalAttention: Bool { get }
}

extension SizeTrackingReducer {
    func reset(batch b: Int) { sizes.reset(batch: b) }
    func keyBias(layer l: Int) -> UnsafePointer<Float>? { proportionalAttention ? sizes.keyBias : nil }
}
