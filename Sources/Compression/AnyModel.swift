import Engine

/// A model file as the commands see it: a dense timm ViT, or a Prune and Merge model (any file with
/// `merge_matrix` tensors). Both run through `Runner`, so infer/eval/bench need not care which.
public enum AnyModel {
    case dense(ViTModel)
    case pm(PMModel)

    public init(path: String, heads: Int? = nil) throws {
        let file = try SafeTensorsFile(path: path)
        if file.names.contains(where: PMModel.isPMTensor) {
            self = .pm(try PMModel(path: path, heads: heads))
        } else {
            self = .dense(try ViTModel(file: file, heads: heads))
        }
    }

    public var vit: ViTModel {
        switch self {
        case .dense(let m): return m
        case .pm(let m): return m.dense
        }
    }

    /// Honest GFLOPs per image (x 2 multiply-adds, merge and recover included for PM).
    public var flopsPerImage: Double {
        switch self {
        case .dense(let m): return m.config.flopsPerImage
        case .pm(let m): return m.flopsPerImage
        }
    }

    /// The official formula's count (MACs, PM's `flops()`), for comparison; dense models use the same
    /// formula with every block at full tokens.
    public var officialFlops: Double {
        switch self {
        case .dense(let m): return (try? PMModel(dense: m, blocks: []))?.officialFlops ?? 0
        case .pm(let m): return m.officialFlops
        }
    }

    public var kind: String {
        switch self {
        case .dense: return "dense"
        case .pm: return "prune-and-merge"
        }
    }

    /// Reusable buffers for forward passes of up to `batch` images.
    public func runner(batch: Int) -> Runner { Runner(self, batch: batch) }

    public final class Runner {
        let model: AnyModel
        let dense: Activations?
        let pm: PMForward?
        public let batch: Int

        init(_ model: AnyModel, batch: Int) {
            self.model = model
            self.batch = batch
            switch model {
            case .dense(let m): dense = Activations(config: m.config, batch: batch, keepAllLayers: false); pm = nil
            case .pm(let m): pm = PMForward(model: m, batch: batch); dense = nil
            }
        }

        /// Runs b <= batch images; returns the logits pointer [b, classes] (valid until the next run).
        @discardableResult
        public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
            switch model {
            case .dense(let m):
                let a = dense!  // set in init for .dense
                m.forward(a, images: images, batch: b, workers: workers)
                return UnsafePointer(a.logits)
            case .pm:
                let f = pm!  // set in init for .pm
                f.forward(images: images, batch: b, workers: workers)
                return UnsafePointer(f.acts.logits)
            }
        }
    }
}
