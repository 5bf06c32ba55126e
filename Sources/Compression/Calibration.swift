import Engine
import Foundation

/// Accumulated gradient-weighted scores ("seq_ranks" in the official code): for each block, the
/// per-batch absolute scores of `GradientScorer` summed over many batches of labelled training
/// images. These are what a static Prune and Merge plan is built from.
///
/// File format (safetensors): `seq_ranks.{i}` [numPatches] per block (F32, raw sums, no
/// normalisation, as the fixtures store them), metadata `model`, `images`, `batch`, `labels`
/// ("given"), `seed`, `depth`, `num_patches`.
public struct Calibration: Sendable {
    /// [depth][numPatches]
    public var seqRanks: [[Double]]
    public var images: Int
    public var batches: Int

    public init(depth: Int, numPatches: Int) {
        seqRanks = [[Double]](repeating: [Double](repeating: 0, count: numPatches), count: depth)
        images = 0
        batches = 0
    }

    /// Adds one batch's absolute scores.
    public mutating func add(_ r: GradientScorer.Result, images n: Int) {
        for l in seqRanks.indices { for j in seqRanks[l].indices { seqRanks[l][j] += Double(r.scores[l][j]) } }
        images += n
        batches += 1
    }

    /// Runs `count` images through forward + backward in batches of `batch`. `fill(start, n, images,
    /// labels)` writes images start..<start+n and their labels. `progress(done, total)` is called
    /// after each batch.
    public static func run(model: ViTModel, count: Int, batch: Int, workers: Int,
                           fill: (Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) -> Void,
                           progress: (Int, Int) -> Void = { _, _ in }) -> Calibration {
        let c = model.config
        let scorer = GradientScorer(model: model, batch: batch, workers: workers)
        var cal = Calibration(depth: c.depth, numPatches: c.numPatches)
        var input = [Float](repeating: 0, count: batch * c.channels * c.imageSize * c.imageSize)
        var labels = [Int32](repeating: 0, count: batch)
        var start = 0
        while start < count {
            let n = min(batch, count - start)
            input.withUnsafeMutableBufferPointer { img in
                labels.withUnsafeMutableBufferPointer { lab in fill(start, n, img.baseAddress!, lab.baseAddress!) }
            }
            let r = scorer.score(images: input, batch: n, labels: Array(labels[0..<n]))
            cal.add(r, images: n)
            start += n
            progress(start, count)
        }
        return cal
    }

    /// The same over a stream whose length is known only at its end (an image folder, where
    /// unreadable files are skipped): `next(images, labels, max)` writes up to `max` images and
    /// returns how many, 0 at the end. With `labelled` false the labels are ignored and each image
    /// is scored against the model's own top-1 (as `infer --scores` does without labels).
    public static func run(model: ViTModel, batch: Int, workers: Int, labelled: Bool,
                           next: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>, Int) throws -> Int,
                           progress: (Int) -> Void = { _ in }) rethrows -> Calibration {
        let c = model.config
        let scorer = GradientScorer(model: model, batch: batch, workers: workers)
        var cal = Calibration(depth: c.depth, numPatches: c.numPatches)
        var input = [Float](repeating: 0, count: batch * c.channels * c.imageSize * c.imageSize)
        var labels = [Int32](repeating: 0, count: batch)
        while true {
            let n = try input.withUnsafeMutableBufferPointer { img in
                try labels.withUnsafeMutableBufferPointer { lab in
                    guard let i = img.baseAddress, let l = lab.baseAddress else { return 0 }
                    return try next(i, l, batch)
                }
            }
            if n == 0 { break }
            let r = scorer.score(images: input, batch: n, labels: labelled ? Array(labels[0..<n]) : nil)
            cal.add(r, images: n)
            progress(cal.images)
        }
        return cal
    }

    public func save(to path: String, metadata: [String: String]) throws {
        var meta = metadata
        meta["format"] = "tokenscope-seq-ranks"
        meta["images"] = String(images)
        meta["batches"] = String(batches)
        meta["depth"] = String(seqRanks.count)
        meta["num_patches"] = String(seqRanks.first?.count ?? 0)
        var w = SafeTensorsWriter(metadata: meta)
        for (i, r) in seqRanks.enumerated() { w.add("seq_ranks.\(i)", shape: [r.count], data: r.map { Float($0) }) }
        try w.write(to: path)
    }

    /// Reads `seq_ranks.{i}` for a model's blocks, checking count and shapes against it (metadata optional).
    public static func load(path: String, for c: ViTConfig) throws -> [[Double]] {
        try load(file: try SafeTensorsFile(path: path), for: c)
    }

    /// As `load(path:for:)`, from a file already read (messages name `f.source`).
    public static func load(file f: SafeTensorsFile, for c: ViTConfig) throws -> [[Double]] {
        let path = f.source
        var ranks: [[Double]] = []
        for i in 0..<c.depth {
            guard let e = f.entries["seq_ranks.\(i)"] else {
                throw EngineError("\(path): no seq_ranks.\(i); the model has \(c.depth) blocks (ranks file for another model?)")
            }
            guard e.shape == [c.numPatches] else {
                throw EngineError("\(path): seq_ranks.\(i) has shape \(shapeString(e.shape)), expected [\(c.numPatches)] for this model's \(c.grid)x\(c.grid) grid")
            }
            let v = try f.floats("seq_ranks.\(i)")
            guard v.allSatisfy({ $0.isFinite }) else { throw EngineError("\(path): seq_ranks.\(i) holds NaN or infinite values") }
            ranks.append(v.map(Double.init))
        }
        if f.entries["seq_ranks.\(c.depth)"] != nil {
            throw EngineError("\(path) has more than \(c.depth) blocks of ranks (ranks file for another model?)")
        }
        return ranks
    }
}
