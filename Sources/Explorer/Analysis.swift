import Compression
import Engine

/// One image as the explorer holds it: the model's input and a picture to draw (in memory, or
/// decoded on first use: see `ImageSource`).
public struct ExplorerImage: Sendable {
    private let baseName: String
    /// True class, when known.
    public var label: Int?
    public var size: Int
    public let source: ImageSource

    public init(name: String, label: Int?, input: [Float], pixels: [UInt8], size: Int) {
        baseName = name; self.label = label; self.size = size
        source = ImageSource((input, pixels))
    }

    /// An image loaded when first needed; `channels` and `size` give the black stand-in's shape.
    public init(name: String, label: Int?, size: Int, channels: Int, load: @escaping @Sendable () throws -> ImageSource.Loaded) {
        baseName = name; self.label = label; self.size = size
        source = ImageSource(blank: ([Float](repeating: 0, count: channels * size * size), [UInt8](repeating: 0, count: size * size * 3)),
                             load: load)
    }

    /// The file name, with the reason when it could not be read.
    public var name: String { source.problem.map { "\(baseName) (unreadable: \($0))" } ?? baseName }
    /// The preprocessed model input [C, S, S].
    public var input: [Float] { source.value.input }
    /// The same crop as display pixels, RGB, S x S, row-major.
    public var pixels: [UInt8] { source.value.pixels }

    /// Display pixels recovered from a normalised input: x * std + mean, scaled to 0-255 (gray
    /// inputs are repeated into R, G and B).
    public static func pixels(fromInput x: [Float], channels: Int, size: Int, mean: [Float], std: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size * size * 3)
        for i in 0..<(size * size) {
            for ch in 0..<3 {
                let c = min(ch, channels - 1)
                let v = (x[c * size * size + i] * std[c] + mean[c]) * 255
                out[i * 3 + ch] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return out
    }
}

/// What one recompute produced, tagged with the settings it was computed for (so a slow result that
/// arrives after the user moved on is recognised as stale).
public struct Analysis: @unchecked Sendable {
    public struct Key: Equatable, Sendable {
        public var image: Int, keep: Double, prune: Double, source: ExplorerState.ScoreSource
        public var method: ExplorerState.Method
        public var arguments: MethodArguments
        public var grouping: PMPlanner.Grouping, recovery: PMRecovery
        public init(image: Int, keep: Double, prune: Double, source: ExplorerState.ScoreSource, method: ExplorerState.Method = .first,
                    arguments: MethodArguments = MethodArguments(), grouping: PMPlanner.Grouping = .grid, recovery: PMRecovery = .update) {
            self.image = image; self.keep = keep; self.prune = prune; self.source = source; self.method = method
            self.arguments = arguments; self.grouping = grouping; self.recovery = recovery
        }
        public init(_ s: ExplorerState) {
            self.init(image: s.image, keep: s.keep, prune: s.prune, source: s.scoreSource, method: s.method, arguments: s.methodArguments,
                      grouping: s.grouping, recovery: s.recovery)
        }
    }
    public struct Layer: Sendable {
        public var tokensIn: Int, tokensRun: Int, tokensOut: Int
        public var gflops: Double
        /// Per patch; nil when the block runs densely.
        public var states: [PatchState]?
        /// || x_pm - x_dense || / || x_dense || per patch, after this block.
        public var restoreError: [Float]
        /// Live gradient-weighted score per patch (this image, labels = own top-1).
        public var liveScores: [Float]
    }
    public var key: Key
    public var layers: [Layer]
    public var denseTop: [(cls: Int, prob: Float)]
    public var compressedTop: [(cls: Int, prob: Float)]
    public var gflopsDense: Double
    public var gflopsCompressed: Double
    public var milliseconds: Double
    public var planNote: String
    /// The method's settings, in the order the export header shows them.
    public var settings: [(key: String, value: String)] = []
}

/// Runs what the explorer shows: live scores (forward + backward; that forward is the dense pass),
/// the plan, the compressed forward pass, predictions and per-patch restore errors.
///
/// The live scores and the dense pass depend on the image alone, so they run once per image and are
/// kept for the last few images (`prepare(image:)` computes them ahead); a recompute for new settings
/// runs the plan and the compressed pass only. The engine holds mutable buffers and that cache
/// without locks: use it from one thread or serial queue at a time (the explorer's background queue
/// is serial), which is what makes it safe to hand to that queue.
public final class ExplorerEngine: @unchecked Sendable {
    public let model: ViTModel
    public let ranks: [[Double]]?
    /// A Prune and Merge file's own plan (`--pm`), shown as it is.
    public let filePlan: PMModel?
    public let images: [ExplorerImage]
    public let classNames: [String]
    let workers: Int
    let scorer: GradientScorer
    var references: ImageAnalysisCache

    /// How many passes of each kind the engine has run since it was made (tests and `bench --explorer`
    /// tell a cache hit from a miss by them).
    public struct Passes: Equatable, Sendable {
        /// Dense forward passes, every block's output kept (one per image: the live scores' backward
        /// runs on this pass's activations, so an image costs one forward and one backward).
        public var dense = 0
        /// Live-score passes: the backward with gradient-weighted scores (one per image).
        public var scores = 0
        /// Compressed forward passes (one per analysis).
        public var compressed = 0
        public init(dense: Int = 0, scores: Int = 0, compressed: Int = 0) {
            self.dense = dense; self.scores = scores; self.compressed = compressed
        }
    }
    public private(set) var passes = Passes()

    /// `cacheCapacity`: how many images' scores and dense outputs are kept (the one on screen and
    /// its neighbours).
    public init(model: ViTModel, ranks: [[Double]]?, filePlan: PMModel? = nil, images: [ExplorerImage], classNames: [String], workers: Int = 2,
                cacheCapacity: Int = 4) {
        self.model = model
        self.ranks = ranks
        self.filePlan = filePlan
        self.images = images
        self.classNames = classNames
        self.workers = workers
        scorer = GradientScorer(model: model, batch: 1, workers: workers)
        references = ImageAnalysisCache(capacity: cacheCapacity)
    }

    /// Computes the live scores and the dense pass of an image ahead of its analysis (no-op when they
    /// are held), so that `n` and `p` answer at once: the explorer calls it for the next and the
    /// previous image while the user looks. Out-of-range indices are clamped, as `analyse` does.
    public func prepare(image: Int) {
        guard !images.isEmpty else { return }
        _ = reference(image: clampedImage(image))
    }

    /// The images whose scores and dense outputs are held, least recently used first.
    public var cachedImages: [Int] { references.images }

    func clampedImage(_ i: Int) -> Int { min(max(i, 0), images.count - 1) }

    /// The image's live scores and dense outputs, computed on a miss. The scores' forward pass is
    /// the dense pass (`GradientScorer.activations`): its block outputs are kept before the next
    /// image overwrites them.
    func reference(image index: Int) -> ImageReference {
        if let r = references.reference(image: index) { return r }
        let c = model.config, n = c.tokens, d = c.dim
        let live = scorer.score(images: images[index].input, batch: 1)
        passes.dense += 1
        passes.scores += 1
        let acts = scorer.activations
        var denseOut: [Float] = []
        denseOut.reserveCapacity(c.depth * n * d)
        for l in 0..<c.depth { denseOut.append(contentsOf: UnsafeBufferPointer(start: acts.layers[l].res2, count: n * d)) }
        let r = ImageReference(live: live, denseOutputs: denseOut, denseLogits: Array(live.logits.prefix(c.numClasses)))
        references.insert(r, image: index)
        return r
    }

    /// Everything the explorer shows for `s`: the plan, the compressed pass, predictions and restore
    /// errors, plus the image's live scores and dense pass when the engine does not hold them yet.
    public func analyse(_ s: ExplorerState) throws -> Analysis {
        let t0 = Clock.now()
        let c = model.config, n = c.tokens, d = c.dim, np = c.numPatches, pre = c.prefixTokens
        let index = clampedImage(s.image)
        let img = images[index]
        let ref = reference(image: index)
        let live = ref.live
        /// Per patch, || grid - dense || / || dense || after block l.
        func restoreError(_ l: Int, _ grid: UnsafePointer<Float>) -> [Float] {
            ref.denseOutputs.withUnsafeBufferPointer { dense in
                let o = l * n * d
                return (0..<np).map { j in
                    var num: Float = 0, den: Float = 0
                    for k in 0..<d {
                        let a = grid[(pre + j) * d + k], b = dense[o + (pre + j) * d + k]
                        num += (a - b) * (a - b); den += b * b
                    }
                    return (num / max(den, 1e-12)).squareRoot()
                }
            }
        }
        let calibrated = s.scoreSource == .calibrated && ranks != nil
        let scores = ExplorerScores(filePlan: s.scoreSource == .file ? filePlan : nil,
                                    ranks: calibrated ? ranks ?? [] : live.scores.map { $0.map(Double.init) }, calibrated: calibrated)
        guard let run = try s.method.method.explorerRun(dense: model, knobs: s.knobs, scores: scores) else {
            throw EngineError("\(s.method.rawValue) has no explorer view")
        }
        let compressed = run.model, note = run.note, settings = run.settings
        var errors: [[Float]] = []
        let f = compressed.makePass(batch: 1, recordLayouts: true)
        img.input.withUnsafeBufferPointer { x in
            guard let base = x.baseAddress else { return }
            f.forward(images: base, batch: 1, workers: workers) { l, grid in errors.append(restoreError(l, grid)) }
        }
        passes.compressed += 1
        let logits = f.logitsArray(batch: 1, classes: c.numClasses)
        let counts = compressed.tokenCounts, blockFlops = compressed.blockFlops, restores = compressed.restoresGrid
        let layers = (0..<c.depth).map { l in
            Analysis.Layer(tokensIn: restores ? n : counts[l].attention, tokensRun: counts[l].attention,
                           tokensOut: restores ? n : counts[l].mlp, gflops: blockFlops[l] / 1e9,
                           states: f.patchStates(layer: l, image: 0), restoreError: errors[l], liveScores: live.scores[l])
        }
        let gflops = compressed.flopsPerImage
        return Analysis(key: .init(s), layers: layers,
                        denseTop: Self.top(ref.denseLogits, 3), compressedTop: Self.top(logits, 3),
                        gflopsDense: c.flopsPerImage / 1e9, gflopsCompressed: gflops / 1e9,
                        milliseconds: (Clock.now() - t0) * 1000, planNote: note, settings: settings)
    }

    static func top(_ logits: [Float], _ k: Int) -> [(cls: Int, prob: Float)] {
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.indices.sorted { e[$0] > e[$1] }.prefix(k).map { ($0, Float(e[$0] / s)) }
    }
}

import Foundation
