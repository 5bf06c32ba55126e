import Compression
import Engine

/// `compare`'s one pass over the test images per row: top-1 and per-image hits of the first
/// `limit` images and the probes' confusion on the first `probeCount`, from the grid the same
/// forward pass gives back (so each test image goes through each model once).
enum CompareScoring {
    /// What `compare` scores on: the Fashion-MNIST test split with the dense probe (and the training
    /// split the own probes learn on), or an image folder (no probes: their masks are Fashion-MNIST's ink).
    enum Data {
        case testSplit(IDXDataset, probe: PatchProbe?, probeTraining: IDXDataset?)
        case folder(ImageFolder, strict: Bool)
    }

    /// Every entry's row: top-1, both probes, GFLOPs and the speeds measured beforehand; and per
    /// entry the per-image hits the paired tests compare. `scored` is the number of images top-1
    /// is on; `skipped` says which folder images could not be read.
    static func rows(_ entries: [CompareEntry], speeds: [Throughput], data: Data, limit: Int?, probeImages: Int, probeTrainImages: Int,
                     threads: Int, progress: Bool) throws -> (rows: [CompareRow], hits: [[Bool]], scored: Int, skipped: String?) {
        var hits = [[Bool]](repeating: [], count: entries.count)
        var rows: [CompareRow] = []
        var scored = 0
        var skipped: String?
        let started = Clock.now()
        for (k, entry) in entries.enumerated() {
            let any = entry.model
            if progress {
                // The rows cost about the same (each runs the test images and the probes once).
                let spent = Clock.now() - started
                let eta = k > 0 ? String(format: ", about %.0f s left", spent / Double(k) * Double(entries.count - k)) : ""
                printError("scoring \(k + 1)/\(entries.count): \(entry.name)\(eta)")
            }
            var row = CompareRow(entry)
            switch data {
            case .testSplit(let test, let probe, let probeTraining):
                // Features through the model's own final norm (a fine-tuned file trains it), as `probe` reads them;
                // the own probe learns first, then one pass over the test images scores top-1 and both probes.
                let own = try probeTraining.map {
                    try ProbeRun.train(any.runner(batch: 50), model: any.vit, data: $0,
                                       indices: ProbeRun.trainingIndices(count: probeTrainImages, of: $0.count), workers: threads)
                }
                let probes = (probe.map { [$0] } ?? []) + (own.map { [$0] } ?? [])
                let (e, conf) = scoreOnce(any, test: test, limit: limit ?? test.count, probeCount: min(probeImages, test.count),
                                          probes: probes, threads: threads)
                row.top1 = round2(e.top1)
                hits[k] = e.hits
                scored = e.images
                if probe != nil { row.probeMIoU = round2(conf[0].miou) }
                if own != nil { row.probeMIoUOwn = round2(conf[probes.count - 1].miou) }
            case .folder(let folder, let strict):
                let (e, stream) = try evaluate(any, on: folder, batch: 100, threads: threads, strict: strict)
                guard e.images > 0 else { throw EngineError("\(folder.root): none of the \(folder.count) images could be read") }
                row.top1 = round2(e.top1)
                hits[k] = e.hits
                scored = e.images
                skipped = stream.skippedSummary
            }
            row.imagesPerSecondB1 = round2(speeds[k].b1)
            row.imagesPerSecondB32 = round2(speeds[k].b32)
            // Speed-up against the dense row (the first), FLOPs ratio against the dense model.
            row.speedupB32 = round2(row.imagesPerSecondB32 / max(rows.first?.imagesPerSecondB32 ?? row.imagesPerSecondB32, 1e-9))
            row.flopsRatio = round2(any.vit.config.flopsPerImage / any.flopsPerImage)
            rows.append(row)
        }
        return (rows, hits, scored, skipped)
    }

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
