import Engine

/// A model as the commands see it: whatever `CompressedModel` a method made (a dense timm ViT, a
/// Prune and Merge file, a dense model run with ToMe or EViT...). All run through `Runner`, so
/// infer/eval/bench need not care which.
public struct AnyModel: @unchecked Sendable {
    public let model: any CompressedModel

    public init(_ model: any CompressedModel) { self.model = model }

    /// Loads a file and runs it with `method` (nil: as the file is, a method's own file, such as a
    /// Prune and Merge one, as that method, a dense file fine-tuned under a method (its metadata
    /// says which, `MethodChoice.recorded`) under that method, any other as dense). A training checkpoint
    /// (`train`/`finetune`, with `adamw.*` optimizer moments beside the weights) loads too, so a
    /// run can be evaluated while it trains; the moments are skipped.
    public init(path: String, heads: Int? = nil, method: MethodChoice? = nil) throws {
        let file = try SafeTensorsFile(path: path)
        if let owner = MethodRegistry.all.first(where: { $0.ownsFile(file) }) {
            if let method, method.method.id != owner.id {
                let others = MethodRegistry.all.filter { $0.id != owner.id }.map { $0.id }
                throw EngineError("\(path) is a \(owner.title) file (it runs as --method \(owner.id)); --method \(Self.list(others)) run dense model files")
            }
            model = try owner.load(path: path, heads: heads, ignoring: Trainer.isOptimizerState)
        } else if method == nil, let recorded = try MethodChoice.recorded(in: file.metadata, source: path) {
            // A dense file fine-tuned under a method runs under it unless --method says otherwise.
            self = try AnyModel(dense: try ViTModel(file: file, heads: heads, ignoring: Trainer.isOptimizerState), method: recorded)
        } else if let method, method.apply == nil {
            // A method of its own files asked for on another file: its loader says what is wrong.
            model = try method.method.load(path: path, heads: heads, ignoring: Trainer.isOptimizerState)
        } else {
            self = try AnyModel(dense: try ViTModel(file: file, heads: heads, ignoring: Trainer.isOptimizerState), method: method)
        }
        // Loaded to run: the products use prepacked weights (a trainer unpacks them before it steps).
        vit.packWeights()
    }

    /// A dense model in memory, run with `method` (nil: dense). A method that runs only its own
    /// files is refused: it needs one.
    public init(dense m: ViTModel, method: MethodChoice?) throws {
        guard let method else { model = DenseModel(m); return }
        guard let apply = method.apply else {
            throw EngineError("--method \(method.method.id) needs a \(method.method.title) file")
        }
        model = try apply(m)
    }

    /// "a, b and c".
    static func list(_ words: [String]) -> String {
        words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " and " + (words.last ?? "")
    }

    public var vit: ViTModel { model.dense }
    /// Per block: tokens in the attention and in the MLP (CLS included).
    public var tokenCounts: [TokenCount] { model.tokenCounts }
    /// Honest FLOPs per image (x 2 multiply-adds), the method's own work included.
    public var flopsPerImage: Double { model.flopsPerImage }
    /// The official Prune and Merge formula's count (MACs, PM's `flops()`, see `OfficialFlops`).
    public var officialFlops: Double { model.officialFlops }
    /// What kind of model this is, for messages and JSON (`kind`).
    public var kind: String { model.method.kind }
    /// The `--method` value that runs it (`method` in JSON).
    public var method: String { model.method.id }
    /// Whether it is the dense model itself (no method applied).
    public var isDense: Bool { model.method.id == Dense.id }

    /// Reusable buffers for forward passes of up to `batch` images.
    public func runner(batch: Int) -> Runner { Runner(self, batch: batch) }

    public final class Runner {
        public let pass: any CompressedPass
        public let batch: Int

        init(_ model: AnyModel, batch: Int) {
            self.batch = batch
            pass = model.model.makePass(batch: batch, recordLayouts: false)
        }

        /// Runs b <= batch images; returns the logits pointer [b, classes] (valid until the next run).
        @discardableResult
        public func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
            pass.forward(images: images, batch: b, workers: workers, afterBlock: nil)
            return pass.logitsPointer
        }

        /// Runs b <= batch images and hands back the last block's tokens on the full grid
        /// [b, N, D] (CLS first), as each method gives them back: dense as it is; Prune and Merge
        /// restored by its recover matrix; ToMe unmerged through its source (each patch gets the token
        /// holding it); EViT with kept patches at their places and every dropped patch given the fused
        /// token. Valid until the next run. What the spatial probe reads.
        public func forwardGrid(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
            pass.forwardGrid(images: images, batch: b, workers: workers)
        }
    }
}
