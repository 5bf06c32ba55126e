import Engine

/// A model as the commands see it: a dense timm ViT, a Prune and Merge model (any file with
/// `merge_matrix` tensors), or a dense model run with a training-free baseline (ToMe, EViT). All
/// run through `Runner`, so infer/eval/bench need not care which.
public enum AnyModel {
    case dense(ViTModel)
    case pm(PMModel)
    case tome(ToMeModel)
    case evit(EViTModel)

    /// How to run a file (`--method`).
    public enum Method: Sendable, Equatable {
        /// What the file is: Prune and Merge when it has merge matrices, dense otherwise.
        case auto
        case dense
        case pm
        /// ToMe with its r schedule and proportional attention on or off.
        case tome(r: ToMeModel.Schedule, proportionalAttention: Bool)
        /// EViT with a keep rate and reducing blocks (nil: EViT's 3, 6, 9 for 12 blocks, quarters otherwise).
        case evit(keepRate: Double, blocks: [Int]?)
    }

    /// A training checkpoint (`train`/`finetune`, with `adamw.*` optimizer moments beside the weights)
    /// loads too, so a run can be evaluated while it trains; the moments are skipped.
    public init(path: String, heads: Int? = nil, method: Method = .auto) throws {
        let file = try SafeTensorsFile(path: path)
        let isPM = file.names.contains(where: PMModel.isPMTensor)
        switch (method, isPM) {
        case (.auto, true), (.pm, _):
            self = .pm(try PMModel(path: path, heads: heads, ignoring: Trainer.isOptimizerState))
        case (.auto, false), (.dense, false), (.tome, false), (.evit, false):
            self = try AnyModel(dense: try ViTModel(file: file, heads: heads, ignoring: Trainer.isOptimizerState), method: method)
        case (.dense, true), (.tome, true), (.evit, true):
            throw EngineError("\(path) is a Prune and Merge file (it runs as --method pm); --method dense, tome and evit run dense model files")
        }
        // Loaded to run: the products use prepacked weights (a trainer unpacks them before it steps).
        vit.packWeights()
    }

    /// A dense model in memory, run with `method` (`.pm` is refused: it needs a plan).
    public init(dense m: ViTModel, method: Method) throws {
        switch method {
        case .auto, .dense: self = .dense(m)
        case .pm: throw EngineError("--method pm needs a Prune and Merge file (see `tokenscope compress`)")
        case .tome(let r, let prop): self = .tome(try ToMeModel(dense: m, schedule: r, proportionalAttention: prop))
        case .evit(let keep, let blocks): self = .evit(try EViTModel(dense: m, keepRate: keep, blocks: blocks))
        }
    }

    public var vit: ViTModel {
        switch self {
        case .dense(let m): return m
        case .pm(let m): return m.dense
        case .tome(let m): return m.dense
        case .evit(let m): return m.dense
        }
    }

    /// Per block: tokens in the attention and in the MLP (CLS included).
    public var tokenCounts: [TokenCount] {
        switch self {
        case .dense(let m): return [TokenCount](repeating: TokenCount(attention: m.config.tokens, mlp: m.config.tokens), count: m.config.depth)
        case .pm(let m): return m.channels.map { TokenCount(attention: $0, mlp: $0) }
        case .tome(let m): return m.tokenCounts
        case .evit(let m): return m.tokenCounts
        }
    }

    /// Honest FLOPs per image (x 2 multiply-adds; merge and recover included for PM, the matching
    /// product for ToMe, the fusion for EViT).
    public var flopsPerImage: Double {
        switch self {
        case .dense(let m): return m.config.flopsPerImage
        case .pm(let m): return m.flopsPerImage
        case .tome(let m): return m.flopsPerImage
        case .evit(let m): return m.flopsPerImage
        }
    }

    /// The official Prune and Merge formula's count (MACs, PM's `flops()`, see `OfficialFlops`),
    /// for comparison; dense models have every block at full tokens.
    public var officialFlops: Double {
        switch self {
        case .dense(let m):
            return OfficialFlops.model(m.config, tokens: tokenCounts)
        case .pm(let m): return m.officialFlops
        case .tome(let m): return m.officialFlops
        case .evit(let m): return m.officialFlops
        }
    }

    /// What kind of model this is, for messages and JSON (`kind`).
    public var kind: String {
        switch self {
        case .dense: return "dense"
        case .pm: return "prune-and-merge"
        case .tome: return "tome"
        case .evit: return "evit"
        }
    }

    /// The `--method` value that runs it (`method` in JSON).
    public var method: String {
        switch self {
        case .dense: return "dense"
        case .pm: return "pm"
        case .tome: return "tome"
        case .evit: return "evit"
        }
    }

    /// Reusable buffers for forward passes of up to `batch` images.
    public func runner(batch: Int) -> Runner { Runner(self, batch: batch) }

    /// The per-image reduction pass of ToMe or EViT (nil for dense and Prune and Merge models).
    public func reducedForward(batch: Int, recordLayouts: Bool = false) -> ReducedForward? {
        switch self {
        case .tome(let m): return m.forward(batch: batch, recordLayouts: recordLayouts)
        case .evit(let m): return m.forward(batch: batch, recordLayouts: recordLayouts)
        case .dense, .pm: return nil
        }
    }

    public final class Runner {
        enum Pass {
            case dense(ViTModel, Activations)
            case pm(PMForward)
            case reduced(ReducedForward)
        }
        let pass: Pass
        public let batch: Int

        init(_ model: AnyModel, batch: Int) {
            self.batch = batch
            switch model {
            case .dense(let m): pass = .dense(m, Activations(config: m.config, batch: batch, keepAllLayers: false))
            case .pm(let m): pass = .pm(PMForward(model: m, batch: batch))
            case .tome(let m): pass = .reduced(m.forward(batch: batch))
            case .evit(let m): pass = .reduced(m.forward(batch: batch))
            }
        }

        /// Runs b <= batch images; returns the logits pointer [b, classes] (valid until the next run).
        @discardableResult
        public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
            switch pass {
            case .dense(let m, let a):
                m.forward(a, images: images, batch: b, workers: workers)
                return UnsafePointer(a.logits)
            case .pm(let f):
                f.forward(images: images, batch: b, workers: workers)
                return UnsafePointer(f.acts.logits)
            case .reduced(let f):
                f.forward(images: images, batch: b, workers: workers)
                return UnsafePointer(f.acts.logits)
            }
        }
    }
}
