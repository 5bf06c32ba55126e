/// What the trainer needs from a network: its trainable tensors (with gradients beside them), a
/// forward pass that keeps what the backward pass needs, and the backward pass. The dense ViT and
/// the Prune and Merge model (in Compression) both conform, so one trainer with one checkpoint format
/// trains the shipped model and fine-tunes the compressed ones.
public protocol TrainableNetwork: AnyObject {
    /// The dense model underneath (configuration, metadata, preprocessing).
    var base: ViTModel { get }
    /// Every tensor the optimizer updates, in a fixed order (checkpoints use the names).
    var trainable: [TrainableTensor] { get }
    /// Forward pass keeping activations; returns the logits [batch, classes].
    func trainForward(images: UnsafePointer<Float>, batch: Int, workers: Int) -> UnsafePointer<Float>
    /// Backward pass from d loss / d logits; accumulates into the gradients of `trainable`.
    func trainBackward(dlogits: UnsafePointer<Float>, batch: Int, workers: Int)
    func zeroGradients()
    /// Writes the whole model (trainable or not) under its own tensor names.
    func addModelTensors(to w: inout SafeTensorsWriter)
}

public struct TrainableTensor {
    public var name: String
    public var shape: [Int]
    public var param: UnsafeMutablePointer<Float>
    public var grad: UnsafeMutablePointer<Float>
    /// AdamW's decoupled weight decay applies (matrices of Linear layers; not biases, norms, tokens).
    public var decay: Bool
    public var count: Int { shape.reduce(1, *) }
    public init(name: String, shape: [Int], param: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, decay: Bool) {
        self.name = name; self.shape = shape; self.param = param; self.grad = grad; self.decay = decay
    }
}

/// The dense ViT as a trainable network: every parameter, decay on Linear and patch-embedding
/// matrices only (timm's `param_groups_weight_decay` with `no_weight_decay()` = pos_embed, tokens).
public final class DenseNetwork: TrainableNetwork {
    public let base: ViTModel
    public let trainable: [TrainableTensor]
    let acts: Activations
    let scratch: BackwardScratch
    let grads: Gradients

    public init(model: ViTModel, batch: Int, workers: Int) {
        base = model
        acts = Activations(config: model.config, batch: batch, keepAllLayers: true)
        scratch = BackwardScratch(config: model.config, batch: batch, maxWorkers: max(workers, 1))
        let grads = Gradients(model: model)
        self.grads = grads
        trainable = Self.tensors(of: model, grads: grads)
    }

    /// Every parameter of a dense model with its gradient in `grads`.
    public static func tensors(of model: ViTModel, grads: Gradients) -> [TrainableTensor] {
        model.table.items.map { item in
            TrainableTensor(name: item.name, shape: item.shape, param: model.params.base + item.offset,
                            grad: grads.arena.base + item.offset,
                            decay: item.shape.count >= 2 && !["cls_token", "dist_token", "pos_embed"].contains(item.name))
        }
    }

    public func trainForward(images: UnsafePointer<Float>, batch: Int, workers: Int) -> UnsafePointer<Float> {
        base.forward(acts, images: images, batch: batch, workers: workers)
        return UnsafePointer(acts.logits)
    }

    public func trainBackward(dlogits: UnsafePointer<Float>, batch: Int, workers: Int) {
        base.backward(acts, scratch: scratch, grads: grads, dlogits: dlogits, batch: batch, workers: workers)
    }

    public func zeroGradients() { grads.zero() }

    public func addModelTensors(to w: inout SafeTensorsWriter) {
        for item in base.table.items {
            w.add(item.name, shape: item.shape, data: UnsafeBufferPointer(start: base.params.base + item.offset, count: item.count))
        }
    }
}
