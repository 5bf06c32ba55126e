import Compression
import Engine

/// `compare`'s one pass over the test images per row: top-1 and per-image hits of the first
/// `limit` images and the probes' confusion on the first `probeCount`, from the grid the same
/// forward pass gives back (so each test image goes through each model once).
enum CompareScoring {
    static func scoreOnce(_ any: AnyModel, test d: IDXDataset, limit: Int, probeCount: Int, probes: [PatchProbe],
                          threads: Int) -> (result: EvalResult, confusions: [PatchProbe.Confusion]) {
        let m = any.vit, c = m.config
        let n = min(limit, d.count), total = min(max(n, probes.isEmpty ? 0 : probeCount), d.count), k = c.numClasses, p = c.numPatches, per = c.channels * c.imageSize * c.imageSize
        let bsz = 50
        let maker = BatchMaker(dataset: d, mean: m.preprocessing.mean[0], std: m.preprocessing.std[0])
        let runner = any.runner(batch: bsz)
        var input = [Float](repeating: 0, count: bsz * per)
        var features = [Float](repeating: 0, count: bsz * p * c.dim)
        var result = EvalResult(images: 0, correct: 0, loss: 0, seconds: 0)
        var conf = [PatchProbe.Confusion](repeating: PatchProbe.Confusion(), count: probes.count)
        let t0 = Clock.now()
        var start = 0
        while start < total {
            let b = min(bsz, total - start)
            let withGrid = !probes.isEmpty && start < probeCount
            input.withUnsafeMutableBufferPointer { buf in
                for i in 0..<b { maker.writeImage(start + i, shiftY: 0, shiftX: 0, flip: false, into: buf.baseAddress! + i * per) }
            }
            let logits: UnsafePointer<Float> = input.withUnsafeBufferPointer { x in
                if withGrid {
                    let grid = runner.forwardGrid(images: x.baseAddress!, batch: b, workers: threads)
                    features.withUnsafeMutableBufferPointer { f in
                        for i in 0..<b { PatchProbe.features(grid: grid + i * c.tokens * c.dim, model: m, into: f.baseAddress! + i * p * c.dim) }
                    }
                    return runner.pass.logitsPointer
                }
                return runner.forward(images: x.baseAddress!, batch: b, workers: threads)
            }
            for i in 0..<min(b, max(0, n - start)) {
                var best = 0
                for j in 1..<k where logits[i * k + j] > logits[i * k + best] { best = j }
                let hit = best == Int(d.labels[start + i])
                result.hits.append(hit)
                if hit { result.correct += 1 }
            }
            if withGrid {
                let inProbe = min(b, probeCount - start)
                var truth: [UInt8] = []
                d.images.withUnsafeBufferPointer { px in
                    for i in 0..<inProbe {
                        truth += PatchProbe.foreground(pixels: px.baseAddress! + (start + i) * c.imageSize * c.imageSize,
                                                       size: c.imageSize, patch: c.patchSize)
                    }
                }
                for (q, probe) in probes.enumerated() {
                    let pred = features.withUnsafeBufferPointer { probe.predict($0.baseAddress!, count: inProbe * p) }
                    conf[q].add(predicted: pred, truth: truth)
                }
            }
            result.images += min(b, max(0, n - start))
            start += b
        }
        result.seconds = Clock.now() - t0
        return (result, conf)
    }
}
