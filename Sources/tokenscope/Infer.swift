import ArgumentParser
import Compression
import Engine
import Foundation

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on a batch of images and write the logits (and optionally every block's attention and tokens).",
        discussion: """
        Inputs are either PNG or JPEG files (told apart by their first bytes, not their names; decoded as Pillow decodes them, EXIF orientation ignored as timm ignores it; preprocessed as timm evaluates DeiT: resize the shorter side to floor(size / crop_pct) with Pillow's bicubic filter, center crop, scale to [0, 1], normalise) or one safetensors file holding a ready batch [B, C, S, S] under --input-key.

        Output (--out, safetensors): logits [B, classes]; with --attention also attn.{i} [B, H, N, N] (softmax probabilities) and tokens.{i} [B, N, D] (block outputs) for every block i; with --scores also score.{i} [num_patches]: the gradient-weighted attention score of each patch over the batch, |sum of dL/dA * A| / (B H N) as the official Prune and Merge code computes it, with cross-entropy against the labels in --input's --labels-key tensor, or the model's own top-1. For Prune and Merge files the compressed pass runs and --attention writes only tokens.{i} (the full token grid after each block). --method tome, evit, pitome or diffrate runs that baseline on a dense file (see --method); --attention then writes tokens.{i} unmerged to the full grid [B, N, D]: CLS first, then each patch gets the value of the token that holds it (ToMe, PiToMe: its merged token; EViT: a dropped patch gets the fused token; DiffRate: a discarded patch keeps its value from when it was discarded). --json prints, per input, the top-5 classes with probabilities (names from the model's metadata, --labels, or the ImageNet-1k names for 1000-class models).

        Examples:
          tokenscope infer --model deit_tiny.safetensors photo.png --json
          tokenscope infer --model m.safetensors --input batch.safetensors --out out.safetensors --attention
          tokenscope infer --model deit_tiny.safetensors photo.png --json --method tome --r 13
          tokenscope infer --model deit_tiny.safetensors photo.png --json --method evit --keep-rate 0.7
        """
    )

    @Option(help: "Model file (safetensors, timm names).") var model: String
    @Option(help: "A safetensors file holding the input batch [B, C, S, S].") var input: String?
    @Option(help: "Tensor name of the batch inside --input.") var inputKey: String = "input"
    @Argument(help: "PNG or JPEG images to classify.") var images: [String] = []
    @Option(help: "Where to write logits (and attention/tokens) as safetensors.") var out: String?
    @Flag(help: "Also write attn.{i} and tokens.{i} for every block.") var attention = false
    @Flag(help: "Also write score.{i}, the gradient-weighted attention score of every patch for block i.") var scores = false
    @Option(help: "Tensor of class ids inside --input used as labels for --scores (default: the model's top-1).") var labelsKey: String?
    @Flag(help: "Print the top-5 classes per input as JSON.") var json = false
    @Option(help: "Class names, one per line, in class order.") var labels: String?
    @Option(help: "Eval crop fraction for image inputs (timm 0.9, original DeiT 0.875; default: the model's metadata, else 0.9).") var cropPct: Double?
    @Option(help: "Number of attention heads, when the file's metadata does not say (default: width / 64).") var heads: Int?
    @Option(help: "Worker threads (one per core by default).") var threads: Int = defaultThreads
    @OptionGroup var how: MethodOptions

    func validate() throws {
        if input == nil && images.isEmpty { throw ValidationError("give PNG or JPEG images or --input BATCH.safetensors") }
        if input != nil && !images.isEmpty { throw ValidationError("give either images or --input, not both") }
        if out == nil && !json { throw ValidationError("nothing to do: give --out OUT.safetensors and/or --json") }
        if labelsKey != nil && input == nil { throw ValidationError("--labels-key reads labels from --input; image inputs use the model's top-1") }
        if let c = cropPct, !(c > 0.05 && c <= 1) { throw ValidationError("--crop-pct must be in (0.05, 1]") }
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }

    func run() throws {
        try reportingErrors {
            let any = try how.load(model, heads: heads)
            let m = any.vit
            let c = m.config
            let (batch, names) = try loadBatch(m)
            let b = names.count
            let capture: ForwardCapture = attention ? [.attention, .tokens] : []
            let result: ForwardResult
            if scores, !any.isDense {
                throw EngineError("--scores are the dense model's gradient-weighted scores; run them on the dense file (without --method \(any.method))")
            }
            if any.isDense {
                result = m.forward(images: batch, batch: b, capture: capture, workers: threads)
            } else {
                let f = any.model.makePass(batch: min(32, b), recordLayouts: false)
                result = Self.compressedForward(c, images: batch, batch: b, chunk: f.batch, tokens: attention) { x, n, after in
                    f.forward(images: x, batch: n, workers: threads, afterBlock: after)
                    return f.logitsArray(batch: n, classes: c.numClasses)
                }
            }
            var scoreTensors: [Tensor] = []
            if scores {
                let labels = try labelsKey.map { try readLabels(key: $0, count: b, classes: c.numClasses) }
                let r = GradientScorer(model: m, batch: b, workers: threads).score(images: batch, batch: b, labels: labels)
                scoreTensors = r.scores.map { Tensor(shape: [c.numPatches], data: $0) }
            }
            if let out {
                var w = SafeTensorsWriter(metadata: ["format": "tokenscope-infer", "model": model, "inputs": names.joined(separator: "\n")])
                w.add("logits", result.logits)
                for i in 0..<result.attention.count { w.add("attn.\(i)", result.attention[i]) }
                for i in 0..<result.tokens.count { w.add("tokens.\(i)", result.tokens[i]) }
                for i in 0..<scoreTensors.count { w.add("score.\(i)", scoreTensors[i]) }
                try w.write(to: out)
            }
            if json {
                let classNames = try Assets.classNames(for: m, labelsFile: labels)
                var rows: [[String: Any]] = []
                for i in 0..<b {
                    let logits = Array(result.logits.data[(i * c.numClasses)..<((i + 1) * c.numClasses)])
                    let probs = softmax(logits)
                    let top = probs.indices.sorted { probs[$0] > probs[$1] }.prefix(5)
                    rows.append(["input": names[i], "top5": top.map { ["class": $0, "name": classNames[$0], "prob": Double(probs[$0])] }])
                }
                print(try jsonLine(rows))
            }
        }
    }

    /// A compressed pass (Prune and Merge, ToMe, EViT) in chunks of `chunk` images; with `tokens`,
    /// each block's output on the full grid [B, N, D] (attention maps are per block's own tokens,
    /// so they are not written for these passes). `run(images, n, afterBlock)` returns n images' logits.
    static func compressedForward(_ c: ViTConfig, images: [Float], batch b: Int, chunk: Int, tokens: Bool,
                                  run: (UnsafePointer<Float>, Int, ((Int, UnsafePointer<Float>) -> Void)?) -> [Float]) -> ForwardResult {
        let per = c.channels * c.imageSize * c.imageSize
        var logits: [Float] = []
        var tok = [[Float]](repeating: [], count: tokens ? c.depth : 0)
        images.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            var start = 0
            while start < b {
                let n = min(chunk, b - start)
                let after: ((Int, UnsafePointer<Float>) -> Void)? = tokens ? { l, out in
                    tok[l] += UnsafeBufferPointer(start: out, count: n * c.tokens * c.dim)
                } : nil
                logits += run(base + start * per, n, after)
                start += n
            }
        }
        return ForwardResult(logits: Tensor(shape: [b, c.numClasses], data: logits),
                             tokens: tok.map { Tensor(shape: [b, c.tokens, c.dim], data: $0) })
    }

    /// Class ids stored as numbers (any float dtype) in the --input file.
    func readLabels(key: String, count: Int, classes: Int) throws -> [Int32] {
        guard let input else { return [] }
        let file = try SafeTensorsFile(path: input)
        guard let e = file.entries[key] else { throw EngineError("\(input) has no tensor \"\(key)\" for --labels-key") }
        guard e.count == count else { throw EngineError("\(input): \(key) holds \(e.count) labels for \(count) images") }
        return try file.floats(key).map { v in
            guard v.isFinite, v == v.rounded(), v >= 0, Int(v) < classes else {
                throw EngineError("\(input): \(key) holds \(v), not a class id in 0..<\(classes)")
            }
            return Int32(v)
        }
    }

    /// The batch as CHW floats, and a name per image.
    func loadBatch(_ m: ViTModel) throws -> ([Float], [String]) {
        let c = m.config
        if let input {
            let file = try SafeTensorsFile(path: input)
            guard let e = file.entries[inputKey] else {
                throw EngineError("\(input) has no tensor \"\(inputKey)\"; tensors: \(file.names.prefix(8).joined(separator: ", ")) (choose one with --input-key)")
            }
            let want = [c.channels, c.imageSize, c.imageSize]
            guard e.shape.count == 4, Array(e.shape[1...]) == want, e.shape[0] >= 1 else {
                throw EngineError("\(input): \(inputKey) has shape \(shapeString(e.shape)), expected [B, \(want.map(String.init).joined(separator: ", "))] for this model")
            }
            let t = try file.tensor(inputKey)
            return (t.data, (0..<e.shape[0]).map { "\(input)[\($0)]" })
        }
        var cfg = PreprocessConfig(inputSize: c.imageSize, cropPct: cropPct ?? m.preprocessing.cropPct,
                                   mean: m.preprocessing.mean, std: m.preprocessing.std, channels: c.channels)
        cfg.cropPct = cropPct ?? m.preprocessing.cropPct
        var data: [Float] = []
        data.reserveCapacity(images.count * c.channels * c.imageSize * c.imageSize)
        for path in images {
            let img = try ImageReader.read(path: path)
            data += try Preprocess.preprocess(img, cfg)
        }
        return (data, images)
    }
}

func softmax(_ x: [Float]) -> [Float] {
    let m = x.max() ?? 0
    let e = x.map { Foundation.exp(Double($0 - m)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
}
