import Engine

/// A dense model fine-tuned under a per-image token reduction (ToMe, EViT) as a trainable network:
/// every dense parameter trains (decay as `DenseNetwork`), the reduction runs in the forward pass,
/// and the backward pass goes through it between each block's two halves:
///
///     d logits -> head -> for each block, deepest first:
///         d res2 [B, u, D] -> mlpBackward -> d reduced [B, u, D]
///                          -> reducer backward -> d res1 [B, t, D] (+ d CLS attention [B, t])
///                          -> attentionBackward -> d block input [B, t, D]
///     -> embedding
///
/// Blocks that do not reduce run the plain block backward.
public final class ReducedNetwork: TrainableNetwork {
    public let base: ViTModel
    public let forwardPass: ReducedForward
    public let trainable: [TrainableTensor]
    let reducer: DifferentiableReducer
    let scratch: BackwardScratch
    let grads: Gradients
    /// d (CLS attention) [B, T] from a reducer that read the probabilities.
    let clsAttention: Arena

    /// `reducer` must have been made for the backward pass (it keeps each block's choices).
    public init(model: ViTModel, reducer: DifferentiableReducer, batch: Int, workers: Int) {
        base = model
        self.reducer = reducer
        let c = model.config
        forwardPass = ReducedForward(model: model, reducer: reducer, batch: batch, keepAllLayers: true)
        scratch = BackwardScratch(config: c, batch: batch, maxWorkers: max(workers, 1))
        let grads = Gradients(model: model)
        self.grads = grads
        clsAttention = Arena(count: batch * c.tokens)
        trainable = DenseNetwork.tensors(of: model, grads: grads)
    }

    public func trainForward(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
        forwardPass.forward(images: images, batch: b, workers: workers)
        return UnsafePointer(forwardPass.acts.logits)
    }

    public func zeroGradients() { grads.zero() }

    public func trainBackward(dlogits: UnsafePointer<Float>, batch b: Int, workers: Int) {
        backward(dlogits: dlogits, batch: b, workers: workers, grads: grads)
    }

    /// The backward pass into `grads` (nil: only the input gradients, for tests). On return
    /// `inputGradient` is d (block 0's input) [B, T, D].
    public func backward(dlogits: UnsafePointer<Float>, batch b: Int, workers: Int, grads g: Gradients?) {
        let f = forwardPass, m = base, c = m.config, s = scratch, acts = f.acts
        let d = c.dim
        let counts = reducer.tokenCounts
        let workers = min(max(1, workers), s.maxWorkers)  // the scratch has room for this many
        BLAS.useOneThreadPerWorker()
        m.headBackward(acts, last: acts.layers[c.depth - 1].res2, tokens: counts[c.depth - 1].mlp, scratch: s, grads: g,
                       dlogits: dlogits, batch: b)
        for l in stride(from: c.depth - 1, through: 0, by: -1) {
            let a = acts.layers[l], t = counts[l].attention, u = counts[l].mlp
            let input = acts.input(ofLayer: l)
            guard reducer.reduces(layer: l) else {
                m.blockBackward(l, input: input, tokens: t, layer: a, scratch: s, grads: g, batch: b, workers: workers, keyScores: false)
                continue
            }
            m.mlpBackward(l, input: f.mlpInput(layer: l), tokens: u, layer: a, scratch: s, grads: g, batch: b, workers: workers)
            // d res2 is spent: its buffer takes d res1 at t tokens, then goes back into dres1.
            let readsAttention = reducer.reduceBackward(layer: l, from: t, to: u, acts: a, dout: s.dres1Pointer, into: s.dresPointer,
                                                        clsAttention: clsAttention.base, batch: b, workers: workers)
            s.dres1Pointer.update(from: s.dresPointer, count: b * t * d)
            m.attentionBackward(l, input: input, tokens: t, layer: a, scratch: s, grads: g, batch: b, workers: workers,
                                keyScores: false, clsAttentionGradient: readsAttention ? UnsafePointer(clsAttention.base) : nil)
        }
        if let g { m.embedBackward(acts, scratch: s, grads: g, batch: b, workers: workers) }
    }

    /// d (block 0's input) [B, T, D] after `backward`.
    public var inputGradient: UnsafePointer<Float> { UnsafePointer(scratch.dresPointer) }

    public func addModelTensors(to w: inout SafeTensorsWriter) {
        for item in base.table.items {
            w.add(item.name, shape: item.shape, data: UnsafeBufferPointer(start: base.params.base + item.offset, count: item.count))
        }
    }
}

/// A method's model whose reduction the backward pass can go through (`finetune --method`).
public protocol FineTunableModel: CompressedModel {
    /// The dense weights under this method as a trainable network for batches of up to `batch`.
    func trainingNetwork(batch: Int, workers: Int) -> TrainableNetwork
}
