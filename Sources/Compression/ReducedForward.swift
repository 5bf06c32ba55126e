import Engine

/// The forward pass of a dense model with a per-image token reduction method (ToMe, EViT) on
/// preallocated buffers, the counterpart of `PMForward`:
///
///     x [B, t, D] -> res1 = x + attn(LN1(x))            (t = tokenCounts[l].attention)
///                 -> reduced [B, u, D] = reducer(res1)   (u = tokenCounts[l].mlp; only where the reducer acts)
///                 -> res2 = reduced + MLP(LN2(reduced))  -> next block, u tokens
///
/// The head reads CLS (and DIST), which every reducer keeps first. `tracker` follows every original
/// patch; `afterBlock` sees each block's output unmerged to the full grid [b, N, D], the same view
/// `PMForward` gives, so the explorer can compare any method with the dense pass.
public final class ReducedForward {
    public let model: ViTModel
    public let reducer: TokenReducer
    public let batch: Int
    public let acts: Activations
    public let tracker: TokenTracker
    /// When set, `layouts` holds every block's `TokenLayout` per image after each pass.
    public var recordLayouts: Bool
    /// [layer][image], from the last pass with `recordLayouts`.
    public private(set) var layouts: [[TokenLayout]] = []
    /// The reduced tokens [B, u, D] each reducing block's MLP ran on: one buffer shared by every
    /// block, or with `keepAllLayers` one per reducing block (the backward pass reads them).
    private let reduced: [Arena?]
    private var grid: Arena?

    /// `keepAllLayers` keeps every block's activations and reduced tokens for `ReducedNetwork`'s
    /// backward pass.
    public init(model: ViTModel, reducer: TokenReducer, batch: Int, recordLayouts: Bool = false, keepAllLayers: Bool = false) {
        self.model = model
        self.reducer = reducer
        self.batch = batch
        self.recordLayouts = recordLayouts
        let c = model.config
        acts = Activations(config: c, batch: batch, keepAllLayers: keepAllLayers)
        tracker = TokenTracker(config: c, batch: batch)
        let size = batch * c.tokens * c.dim
        if keepAllLayers {
            reduced = (0..<c.depth).map { reducer.reduces(layer: $0) ? Arena(count: size, zeroed: false) : nil }
        } else {
            let shared = Arena(count: size, zeroed: false)
            reduced = [Arena?](repeating: shared, count: c.depth)
        }
    }

    /// What block l's MLP ran on in the last pass: the reduced tokens where it reduces, its
    /// attention residual otherwise.
    public func mlpInput(layer l: Int) -> UnsafePointer<Float> {
        guard reducer.reduces(layer: l), let r = reduced[l] else { return UnsafePointer(acts.layers[l].res1) }
        return UnsafePointer(r.base)
    }

    /// Per block: tokens in the attention and in the MLP.
    public var tokenCounts: [TokenCount] { reducer.tokenCounts }

    /// Runs b <= batch images [b, C, S, S]; logits land in `acts.logits`.
    public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int = 2,
                        afterBlock: ((Int, UnsafePointer<Float>) -> Void)? = nil) {
        precondition(b <= batch, "ReducedForward: batch \(b) > \(batch)")
        let c = model.config, d = c.dim, n = c.tokens
        let counts = reducer.tokenCounts
        let workers = max(1, workers)
        BLAS.useOneThreadPerWorker()
        model.embed(acts, images: images, batch: b, workers: workers)
        tracker.reset(batch: b)
        reducer.reset(batch: b)
        if recordLayouts { layouts = [] }
        var x = UnsafePointer(acts.x0)
        var last = n
        // A patch a block discards keeps, on the grid, the value it entered that block with.
        if afterBlock != nil { gridBuffer().base.update(from: acts.x0, count: b * n * d) }
        for l in 0..<c.depth {
            let a = acts.layers[l]
            let t = counts[l].attention, u = counts[l].mlp
            model.attentionForward(l, input: x, tokens: t, into: a, batch: b, workers: workers, keyBias: reducer.keyBias(layer: l))
            if reducer.reduces(layer: l), let into = reduced[l]?.base {
                reducer.reduce(layer: l, from: t, to: u, acts: a, into: into, tracker: tracker, batch: b, workers: workers)
                model.mlpForward(l, input: into, tokens: u, into: a, batch: b, workers: workers)
            } else {
                model.mlpForward(l, input: a.res1, tokens: t, into: a, batch: b, workers: workers)
            }
            x = UnsafePointer(a.res2)
            last = u
            if recordLayouts { layouts.append((0..<b).map { tracker.layout(image: $0, tokensIn: t, tokens: u) }) }
            if let afterBlock {
                let g = gridBuffer()
                let out = SendablePointer(g.base), xs = SendablePointer(UnsafeMutablePointer(mutating: x))
                Parallel.chunks(b, workers: workers) { r in
                    for i in r { self.tracker.unmerge(image: i, tokens: xs.p + i * u * d, dim: d, into: out.p + i * n * d) }
                }
                afterBlock(l, UnsafePointer(g.base))
            }
        }
        model.head(acts, last: x, tokens: last, batch: b)
    }

    public func logits(batch b: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: acts.logits, count: b * model.config.numClasses))
    }

    private func gridBuffer() -> Arena {
        if let grid { return grid }
        let g = Arena(count: batch * model.config.tokens * model.config.dim, zeroed: false)
        grid = g
        return g
    }
}
