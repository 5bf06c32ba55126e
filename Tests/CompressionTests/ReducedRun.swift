import Foundation
@testable import Compression
import Engine

/// One reduced forward pass (ToMe or EViT) over a batch, as the whole-pass tests read it: per image,
/// the logits and every block's output unmerged to the full token grid.
struct ReducedRun {
    let forward: ReducedForward
    private let logits: [Float]
    private let grids: [[Float]]   // per block, [batch, tokens, dim]
    private let c: ViTConfig

    init(_ f: ReducedForward, images: [Float], batch: Int, workers: Int, config: ViTConfig) {
        var grids: [[Float]] = []
        images.withUnsafeBufferPointer { x in
            f.forward(images: x.baseAddress!, batch: batch, workers: workers) { _, g in
                grids.append(Array(UnsafeBufferPointer(start: g, count: batch * config.tokens * config.dim)))
            }
        }
        forward = f
        logits = f.logits(batch: batch)
        self.grids = grids
        c = config
    }

    func logits(image i: Int) -> [Float] { Array(logits[(i * c.numClasses)..<((i + 1) * c.numClasses)]) }

    func grid(block l: Int, image i: Int) -> [Float] {
        Array(grids[l][(i * c.tokens * c.dim)..<((i + 1) * c.tokens * c.dim)])
    }
}

/// Image i of a flat batch of images.
func image(_ i: Int, of images: [Float], _ c: ViTConfig) -> [Float] {
    let per = c.channels * c.imageSize * c.imageSize
    return Array(images[(i * per)..<((i + 1) * per)])
}
