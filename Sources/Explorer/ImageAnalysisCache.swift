import Compression

/// What the explorer computes of one image that no setting changes: the live gradient-weighted
/// scores (a forward + backward) and the dense pass with every block's output. Keep, prune, method,
/// plan source, grouping and recovery only change the plan and the compressed pass, so a recompute
/// on an image that has its reference runs neither pass again.
struct ImageReference {
    /// Live scores and the labels they used (the image's own top-1).
    var live: GradientScorer.Result
    /// Every block's dense output [depth][N, D], flat: block l starts at l * N * D.
    var denseOutputs: [Float]
    var denseLogits: [Float]
}

/// The last few images' references, least recently used first out. The explorer shows one image
/// and prepares its neighbours while the user looks, so a handful covers n and p in both directions
/// (DeiT-Small: 12 blocks x 197 x 384 floats, 3.6 MB an image).
struct ImageAnalysisCache {
    let capacity: Int
    /// Most recently used last.
    private var entries: [(image: Int, reference: ImageReference)] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var images: [Int] { entries.map(\.image) }

    /// The image's reference, marked as just used; nil when it is not held.
    mutating func reference(image: Int) -> ImageReference? {
        guard let i = entries.firstIndex(where: { $0.image == image }) else { return nil }
        let e = entries.remove(at: i)
        entries.append(e)
        return e.reference
    }

    mutating func insert(_ r: ImageReference, image: Int) {
        entries.removeAll { $0.image == image }
        if entries.count >= capacity { entries.removeFirst(entries.count - capacity + 1) }
        entries.append((image, r))
    }
}
