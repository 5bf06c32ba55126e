import Engine

/// The spatial probe on real data: features from a model's full-grid final tokens, foreground
/// labels from the images' own pixels, training on the dense model and evaluation under any method.
public enum ProbeRun {
    /// Final-token features [count x P, D] and labels [count x P] of images `indices` of `data`,
    /// run through `runner` (a method's grid, see `forwardGrid`).
    public static func collect(_ runner: AnyModel.Runner, model m: ViTModel, data: IDXDataset, indices: [Int],
                               threshold: UInt8 = 64, workers: Int) throws -> (features: [Float], labels: [UInt8]) {
        let c = m.config, p = c.numPatches, d = c.dim, per = c.channels * c.imageSize * c.imageSize
        guard data.rows == c.imageSize, data.cols == c.imageSize, c.channels == 1 else {
            throw EngineError("the probe needs a 1-channel model for the data's \(data.rows)x\(data.cols) images; this model takes \(c.channels)x\(c.imageSize)x\(c.imageSize)")
        }
        let maker = BatchMaker(dataset: data, mean: m.preprocessing.mean[0], std: m.preprocessing.std[0])
        var features = [Float](repeating: 0, count: indices.count * p * d)
        var labels = [UInt8]()
        labels.reserveCapacity(indices.count * p)
        var input = [Float](repeating: 0, count: runner.batch * per)
        var start = 0
        while start < indices.count {
            let b = min(runner.batch, indices.count - start)
            input.withUnsafeMutableBufferPointer { buf in
                for i in 0..<b { maker.writeImage(indices[start + i], shiftY: 0, shiftX: 0, flip: false, into: buf.baseAddress! + i * per) }
            }
            let grid = input.withUnsafeBufferPointer { runner.forwardGrid(images: $0.baseAddress!, batch: b, workers: workers) }
            features.withUnsafeMutableBufferPointer { f in
                for i in 0..<b {
                    PatchProbe.features(grid: grid + i * c.tokens * d, model: m, into: f.baseAddress! + (start + i) * p * d)
                }
            }
            data.images.withUnsafeBufferPointer { px in
                for i in 0..<b {
                    let img = px.baseAddress! + indices[start + i] * c.imageSize * c.imageSize
                    labels += PatchProbe.foreground(pixels: img, size: c.imageSize, patch: c.patchSize, threshold: threshold)
                }
            }
            start += b
        }
        return (features, labels)
    }

    /// The training images a probe learns from: the first `count` of a fixed stride over the
    /// `total` images of the training split (spread over the classes, the same on every run).
    public static func trainingIndices(count: Int, of total: Int) -> [Int] {
        let stride = max(1, total / max(count, 1))
        return (0..<min(count, total)).map { ($0 * stride) % total }
    }

    /// A probe trained on the grid `runner` gives back for the training images `indices` (the
    /// dense model's: the shipped probe; any method's own grid: what a head trained on that model
    /// could read), with `PatchProbe.train`'s fixed steps.
    public static func train(_ runner: AnyModel.Runner, model m: ViTModel, data: IDXDataset, indices: [Int], workers: Int) throws -> PatchProbe {
        let (f, y) = try collect(runner, model: m, data: data, indices: indices, workers: workers)
        return PatchProbe.train(features: f, labels: y, dim: m.config.dim)
    }

    /// mIoU of `probe` on the grid `runner` gives back for images `indices`.
    public static func evaluate(_ probe: PatchProbe, _ runner: AnyModel.Runner, model m: ViTModel, data: IDXDataset, indices: [Int],
                                workers: Int) throws -> PatchProbe.Confusion {
        var conf = PatchProbe.Confusion()
        let p = m.config.numPatches
        // In chunks, so memory stays at one chunk's features.
        var start = 0
        while start < indices.count {
            let chunk = Array(indices[start..<min(indices.count, start + 500)])
            let (f, y) = try collect(runner, model: m, data: data, indices: chunk, workers: workers)
            let pred = f.withUnsafeBufferPointer { probe.predict($0.baseAddress!, count: chunk.count * p) }
            conf.add(predicted: pred, truth: y)
            start += chunk.count
        }
        return conf
    }
}
