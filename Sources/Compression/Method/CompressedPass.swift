import Engine

/// The forward pass of a `CompressedModel` on preallocated buffers, for up to `batch` images.
public protocol CompressedPass: AnyObject {
    var batch: Int { get }
    /// Runs b <= batch images [b, C, S, S]. `afterBlock(l, grid)` sees block l's output restored
    /// to the full grid [b, N, D] (CLS first), the view every method can be compared on.
    func forward(images: UnsafePointer<Float>, batch b: Int, workers: Int, afterBlock: ((Int, UnsafePointer<Float>) -> Void)?)
    /// [b, classes] from the last pass (valid until the next one).
    var logitsPointer: UnsafePointer<Float> { get }
    /// Runs b images and hands back the last block's output on the full grid [b, N, D], as the
    /// method restores it (valid until the next run): what the spatial probe reads.
    func forwardGrid(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float>
    /// What block l did with each patch of image i in the last pass, or nil where the block ran on
    /// every token unchanged. Needs a pass made with `recordLayouts` for per-image methods.
    func patchStates(layer l: Int, image i: Int) -> [PatchState]?
}

extension CompressedPass {
    /// The logits of b images of the last pass, copied.
    public func logitsArray(batch b: Int, classes: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: logitsPointer, count: b * classes))
    }

    /// The grid through `afterBlock`, for passes that restore it only when asked.
    func lastGridThroughAfterBlock(images: UnsafePointer<Float>, batch b: Int, workers: Int, depth: Int) -> UnsafePointer<Float> {
        var grid: UnsafePointer<Float>?
        forward(images: images, batch: b, workers: workers) { l, g in if l == depth - 1 { grid = g } }
        guard let grid else { preconditionFailure("the pass ran no blocks") }
        return grid
    }
}
