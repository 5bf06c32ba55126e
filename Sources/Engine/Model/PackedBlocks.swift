/// The four Linear weights of each block prepacked for oneDNN's matmul (see `PackedWeight`): what
/// an inference or score pass runs on. Training and anything else that changes the parameters runs
/// on the plain weights.
public struct PackedBlock: Sendable {
    public var qkv, proj, fc1, fc2: PackedWeight?
    /// The same weights packed for the input-gradient products of the backward pass (the score pass);
    /// nil unless packed `forBackward`.
    public var qkvT, projT, fc1T, fc2T: PackedWeight?
}

extension ViTModel {
    /// Packs every block's Linear weights (about 2 ms per million parameters, once), and with
    /// `forBackward` a second copy for the backward pass's input gradients (what the gradient-weighted
    /// scores run; the memory of the weights once more). The parameters must not change while packed:
    /// call `unpackWeights()` first (the trainer does on every step).
    public func packWeights(forBackward: Bool = false) {
        let c = config
        packedBlocks = views.blocks.map { b in
            func pack(_ w: UnsafeMutablePointer<Float>, _ out: Int, _ inp: Int, _ use: PackedWeight.Use) -> PackedWeight? {
                use == .forward || forBackward ? PackedWeight(weight: w, out: out, in: inp, for: use) : nil
            }
            return PackedBlock(qkv: pack(b.qkvW, 3 * c.innerDim, c.dim, .forward),
                               proj: pack(b.projW, c.dim, c.innerDim, .forward),
                               fc1: pack(b.fc1W, c.mlpDim, c.dim, .forward),
                               fc2: pack(b.fc2W, c.dim, c.mlpDim, .forward),
                               qkvT: pack(b.qkvW, 3 * c.innerDim, c.dim, .inputGradient),
                               projT: pack(b.projW, c.dim, c.innerDim, .inputGradient),
                               fc1T: pack(b.fc1W, c.mlpDim, c.dim, .inputGradient),
                               fc2T: pack(b.fc2W, c.dim, c.mlpDim, .inputGradient))
        }
    }

    /// Drops the packed copies: every product runs on the parameters as they are.
    public func unpackWeights() { packedBlocks = nil }

    @inline(__always)
    func packed(_ l: Int) -> PackedBlock? { packedBlocks?[l] }
}
