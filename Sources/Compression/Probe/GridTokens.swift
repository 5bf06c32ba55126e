import Engine

extension AnyModel.Runner {
    /// Runs b <= batch images and hands back the last block's tokens on the full grid
    /// [b, N, D] (CLS first), as each method gives them back: dense as it is; Prune and Merge
    /// restored by its recover matrix; ToMe unmerged through its source (each patch gets the token
    /// holding it); EViT with kept patches at their places and every dropped patch given the fused
    /// token. Valid until the next run. What the spatial probe reads.
    public func forwardGrid(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
        switch pass {
        case .dense(let m, let a):
            m.forward(a, images: images, batch: b, workers: workers)
            return UnsafePointer(a.layers[m.config.depth - 1].res2)
        case .pm(let f):
            f.forward(images: images, batch: b, workers: workers)
            // Every block hands the full grid on; the last one's output is what the head read.
            guard let last = f.blockOutputs[f.model.dense.config.depth - 1] else { preconditionFailure("PMForward ran no blocks") }
            return last
        case .reduced(let f):
            let depth = f.model.config.depth
            var grid: UnsafePointer<Float>?
            f.forward(images: images, batch: b, workers: workers) { l, g in if l == depth - 1 { grid = g } }
            guard let grid else { preconditionFailure("ReducedForward ran no blocks") }
            return grid
        }
    }
}
