import Engine

/// A dense ViT as one method runs it: the one view of a model that `infer`, `eval`, `bench`,
/// `compare`, the probe and the explorer use, whichever method made it.
public protocol CompressedModel: AnyObject, Sendable {
    /// The dense weights underneath (the patch embedding, the blocks and the head it runs).
    var dense: ViTModel { get }
    /// The method that made it.
    var method: any CompressionMethod.Type { get }
    /// Per block: tokens in the attention and in the MLP (CLS included).
    var tokenCounts: [TokenCount] { get }
    /// Whether every block hands the full token grid on (Prune and Merge restores it after each
    /// block), so a block's input and output are all tokens whatever it ran on.
    var restoresGrid: Bool { get }
    /// Honest FLOPs of each block (multiply-adds x 2) at its token counts, the method's own work in
    /// the block included (ToMe's matching product, EViT's fusion, PM's merge and recover).
    var blockFlops: [Double] { get }
    /// Honest FLOPs per image: the blocks plus the patch embedding and the head once.
    var flopsPerImage: Double { get }
    /// The official Prune and Merge formula's count (MACs, see `OfficialFlops`), for comparison.
    var officialFlops: Double { get }
    /// Settings the model carries that change what it computes beyond its token counts, as reports
    /// name them (Prune and Merge: its recovery).
    var reportedSettings: [(key: String, value: String)] { get }
    /// Buffers for passes of up to `batch` images; `recordLayouts` keeps each image's patch states
    /// per block (the explorer and the export read them).
    func makePass(batch: Int, recordLayouts: Bool) -> any CompressedPass
}

extension CompressedModel {
    public var restoresGrid: Bool { false }
    public var reportedSettings: [(key: String, value: String)] { [] }
    public var flopsPerImage: Double { blockFlops.reduce(dense.config.embedAndHeadFlops, +) }
    public var officialFlops: Double { OfficialFlops.model(dense.config, tokens: tokenCounts) }
}
