import Engine

/// A Prune and Merge model as a trainable network, for fine-tuning: the merge and recover matrices
/// are trainable (no weight decay: they encode the plan's structure, not generic weights), and so is
/// every dense parameter unless `matricesOnly`.
///
/// Backward through a compressed block (forward: out = R y + x * pass, y = block(M x); with
/// `PMRecovery.update`, pass = 1 and y = block(M x) - M x):
///
///     dR += dout y^T            dy = R^T dout
///     dxm = block backward(dy)  (update: minus dy, the gradient of the - M x term)
///     dM += dxm x^T             dx = M^T dxm + dout * pass
public final class PMNetwork: TrainableNetwork {
    public let pm: PMModel
    public var base: ViTModel { pm.dense }
    public let forwardPass: PMForward
    public let trainable: [TrainableTensor]
    public let matricesOnly: Bool
    let scratch: BackwardScratch
    let grads: Gradients
    let matrixGrads: Arena
    let work: Arena  // dout and dx, [B, N, D] each; dx holds dy first in update mode
    let batch: Int

    public init(model: PMModel, batch: Int, workers: Int, matricesOnly: Bool) {
        pm = model
        self.batch = batch
        self.matricesOnly = matricesOnly
        let c = model.dense.config
        forwardPass = PMForward(model: model, batch: batch, keepAllLayers: true)
        scratch = BackwardScratch(config: c, batch: batch, maxWorkers: max(workers, 1))
        let grads = Gradients(model: model.dense)
        self.grads = grads
        let mg = Arena(count: forwardPass.matrices.count)
        matrixGrads = mg
        work = Arena(count: 2 * batch * c.tokens * c.dim)
        var t: [TrainableTensor] = []
        if !matricesOnly {
            t = DenseNetwork.tensors(of: model.dense, grads: grads)
        }
        let mats = forwardPass.matrices
        for (block, m, r) in forwardPass.matrixOffsets {
            guard let b = model.blocks[block] else { continue }
            let p = "blocks.\(block).attn."
            t.append(TrainableTensor(name: p + "merge_matrix", shape: [b.channels, b.tokens], param: mats.base + m, grad: mg.base + m, decay: false))
            t.append(TrainableTensor(name: p + "recover_matrix", shape: [b.tokens, b.channels], param: mats.base + r, grad: mg.base + r, decay: false))
        }
        trainable = t
    }

    public func trainForward(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
        forwardPass.forward(images: images, batch: b, workers: workers)
        return UnsafePointer(forwardPass.acts.logits)
    }

    public func zeroGradients() {
        grads.zero()
        matrixGrads.zero()
    }

    public func trainBackward(dlogits: UnsafePointer<Float>, batch b: Int, workers: Int) {
        let f = forwardPass, dense = pm.dense, c = dense.config, s = scratch
        let n = c.tokens, d = c.dim
        let g: Gradients? = matricesOnly ? nil : grads
        let workers = max(1, workers)
        BLAS.useOneThreadPerWorker()
        guard let last = f.blockOutputs[c.depth - 1] else { return }
        dense.headBackward(f.acts, last: last, tokens: n, scratch: s, grads: g, dlogits: dlogits, batch: b)
        let dOut = work.base, dx = work.base + batch * n * d
        for l in stride(from: c.depth - 1, through: 0, by: -1) {
            let a = f.acts.layers[l]
            guard let x = f.blockInputs[l] else { return }
            guard let blk = pm.blocks[l], let off = f.matrixOffsets.first(where: { $0.block == l }),
                  let xm = f.merged[l], let pass = f.passMask[l] else {
                dense.blockBackward(l, input: x, tokens: n, layer: a, scratch: s, grads: g, batch: b, workers: workers, keyScores: false)
                continue
            }
            let ch = blk.channels
            let mW = f.matrices.base + off.merge, rW = f.matrices.base + off.recover
            let dM = matrixGrads.base + off.merge, dR = matrixGrads.base + off.recover
            let y = a.res2
            dOut.update(from: s.dresPointer, count: b * n * d)
            // dR [N, C] += sum_b dout_b [N, D] y_b^T: split the rows of dR over workers.
            Parallel.chunks(n, workers: workers) { rr in
                for i in 0..<b {
                    BLAS.sgemm(transB: true, m: rr.count, n: ch, k: d, a: dOut + i * n * d + rr.lowerBound * d, lda: d,
                               b: y + i * ch * d, ldb: d, beta: 1, c: dR + rr.lowerBound * ch, ldc: ch)
                }
            }
            // dy_b [C, D] = R^T dout_b, into the block's output gradient.
            let sd = SendablePointer(s.dresPointer)
            Parallel.chunks(b, workers: workers) { r in
                for i in r {
                    BLAS.sgemm(transA: true, m: ch, n: d, k: n, a: rW, lda: ch, b: dOut + i * n * d, ldb: d, beta: 0,
                               c: sd.p + i * ch * d, ldc: d)
                }
            }
            let update = pm.recovery == .update
            if update { dx.update(from: s.dresPointer, count: b * ch * d) }
            dense.blockBackward(l, input: xm, tokens: ch, layer: a, scratch: s, grads: g, batch: b, workers: workers, keyScores: false)
            if update {
                let dy = UnsafePointer(dx)
                for q in 0..<(b * ch * d) { sd.p[q] -= dy[q] }
            }
            // dM [C, N] += sum_b dxm_b [C, D] x_b^T: split the rows of dM.
            Parallel.chunks(ch, workers: workers) { rr in
                for i in 0..<b {
                    BLAS.sgemm(transB: true, m: rr.count, n: n, k: d, a: sd.p + i * ch * d + rr.lowerBound * d, lda: d,
                               b: x + i * n * d, ldb: d, beta: 1, c: dM + rr.lowerBound * n, ldc: n)
                }
            }
            // dx_b = M^T dxm_b + dout_b * pass.
            Parallel.chunks(b, workers: workers) { r in
                for i in r {
                    let o = dx + i * n * d, go = dOut + i * n * d
                    for t in 0..<n {
                        let w = pass[t]
                        for e in 0..<d { o[t * d + e] = go[t * d + e] * w }
                    }
                    BLAS.sgemm(transA: true, m: n, n: d, k: ch, a: mW, lda: n, b: sd.p + i * ch * d, ldb: d, beta: 1, c: o, ldc: d)
                }
            }
            s.dresPointer.update(from: dx, count: b * n * d)
        }
        if let g { dense.embedBackward(f.acts, scratch: s, grads: g, batch: b, workers: workers) }
    }

    /// The model in the official tensor names (the trained matrices first copied back).
    public func addModelTensors(to w: inout SafeTensorsWriter) {
        forwardPass.writeBack()
        pm.addTensors(to: &w)
    }
}
