/// The four Linear weights of each block prepacked for oneDNN's matmul (see `PackedWeight`): what
/// an inference or score pass runs on. Training and anything else that changes the parameters runs
/// on the plain weights.
public struct PackedBlock: Sendable {
    public var qkv, proj, fc1, fc2: PackedWeight?
}

extension ViTModel {
    /// Packs every block's Linear weights (about 2 ms per million parameters, once). The parameters
    /// must not change while packed: call `unpackWeights()` first (the trainer does on every step).
    public func packWeights() {
        let c = config
        packedBlocks = views.blocks.map { b in
            PackedBlock(qkv: PackedWeight(weight: b.qkvW, out: 3 * c.innerDim, in: c.dim),
                        proj: PackedWeight(weight: b.projW, out: c.dim, in: c.innerDim),
                        fc1: PackedWeight(weight: b.fc1W, out: c.mlpDim, in: c.dim),
                        fc2: PackedWeight(weight: b.fc2W, out: c.dim, in: c.mlpDim))
        }
    }

    /// Drops the packed copies: every product runs on the parameters as they are.
    public func unpackWeights() { packedBlocks = nil }

    @inline(__always)
    func packed(_ l: Int) -> PackedBlock? { packedBlocks?[l] }
}
