import Compression
import Engine

/// Top-1 and loss of any model (dense or compressed) on the first `limit` images of an IDX split,
/// normalised with the model's own mean/std.
func evaluate(_ any: AnyModel, on d: IDXDataset, limit: Int, batch: Int = 100, threads: Int) -> EvalResult {
    let m = any.vit
    let n = min(limit, d.count)
    let maker = BatchMaker(dataset: d, mean: m.preprocessing.mean[0], std: m.preprocessing.std[0])
    let runner = any.runner(batch: max(1, min(batch, n)))
    return ViTModel.evaluate(config: m.config, count: n, labels: d.labels.prefix(n).map { Int32($0) }, batch: max(1, min(batch, n)),
                             image: { i, dst in maker.writeImage(i, shiftY: 0, shiftX: 0, flip: false, into: dst) },
                             run: { x, b in runner.forward(images: x, batch: b, workers: threads) })
}

/// Top-1 and loss of any model on an image folder, the images decoded ahead of the model on worker
/// threads. Class folders give the labels; a flat folder has none, so there the labels are the
/// dense model's own top-1 (the model itself, or the dense part of a compressed one): top-1 is then
/// agreement with the dense model (100 % for the dense model itself) and the loss the cross-entropy
/// against its choices. `seconds` covers everything, decoding included (nothing is read beforehand).
func evaluate(_ any: AnyModel, on folder: ImageFolder, batch: Int, threads: Int, strict: Bool) throws -> (EvalResult, ImageStream) {
    let m = any.vit, c = m.config
    let per = c.channels * c.imageSize * c.imageSize, k = c.numClasses
    let bsz = max(1, min(batch, folder.count))
    let runner = any.runner(batch: bsz)
    let dense = folder.isLabelled || any.isDense ? nil : AnyModel(DenseModel(m)).runner(batch: bsz)
    let stream = ImageStream(folder, preprocess: m.evalTransform, workers: threads, window: 2 * bsz, strict: strict)
    defer { stream.finish() }
    var input = [Float](repeating: 0, count: bsz * per)
    var labels = [Int32](repeating: 0, count: bsz)
    var probs = [Float](repeating: 0, count: bsz * k)
    var result = EvalResult(images: 0, correct: 0, loss: 0, seconds: 0)
    var lossSum = 0.0
    let t0 = Clock.now()
    while true {
        let b = try input.withUnsafeMutableBufferPointer { img in
            try labels.withUnsafeMutableBufferPointer { lab in
                guard let i = img.baseAddress, let l = lab.baseAddress else { return 0 }
                return try stream.nextBatch(max: bsz, per: per, into: i, labels: l)
            }
        }
        if b == 0 { break }
        let logits = input.withUnsafeBufferPointer { x in x.baseAddress.map { runner.forward(images: $0, batch: b, workers: threads) } }
        guard let logits else { break }
        if !folder.isLabelled {
            let reference = dense.flatMap { d in input.withUnsafeBufferPointer { x in x.baseAddress.map { d.forward(images: $0, batch: b, workers: threads) } } } ?? logits
            for i in 0..<b { labels[i] = Int32(topOne(reference + i * k, classes: k)) }
        }
        lossSum += Double(b) * labels.withUnsafeBufferPointer { lab in
            probs.withUnsafeMutableBufferPointer { p in
                guard let pb = p.baseAddress, let lb = lab.baseAddress else { return 0 }
                return CrossEntropy.forward(probs: pb, logits: logits, labels: lb, batch: b, classes: k, smoothing: 0)
            }
        }
        for i in 0..<b {
            let hit = topOne(logits + i * k, classes: k) == Int(labels[i])
            result.hits.append(hit)
            if hit { result.correct += 1 }
        }
        result.images += b
    }
    result.seconds = Clock.now() - t0
    result.loss = result.images > 0 ? lossSum / Double(result.images) : 0
    return (result, stream)
}

private func topOne(_ z: UnsafePointer<Float>, classes k: Int) -> Int {
    var best = 0
    for j in 1..<k where z[j] > z[best] { best = j }
    return best
}
