import Engine

/// The per-image reduction pass (ToMe, EViT) as a method's pass.
extension ReducedForward: CompressedPass {
    public var logitsPointer: UnsafePointer<Float> { UnsafePointer(acts.logits) }

    public func forwardGrid(images: UnsafePointer<Float>, batch b: Int, workers: Int) -> UnsafePointer<Float> {
        lastGridThroughAfterBlock(images: images, batch: b, workers: workers, depth: model.config.depth)
    }

    /// From the recorded layouts; nil where the block's output still has every token (a block that
    /// fused nothing away shows as dense, as the explorer always drew it).
    public func patchStates(layer l: Int, image i: Int) -> [PatchState]? {
        guard l < layouts.count, i < layouts[l].count else { return nil }
        let layout = layouts[l][i]
        return layout.tokensOut < model.config.tokens ? layout.states : nil
    }
}
