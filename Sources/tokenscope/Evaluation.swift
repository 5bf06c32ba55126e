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
