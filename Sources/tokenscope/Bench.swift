import ArgumentParser
import Compression
import Engine
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the forward pass of a model on random input.",
        discussion: """
        Runs a warm-up, then as many forward passes as fit in --seconds, on a fixed random batch (seed 0). Prints images/s, milliseconds per batch, GFLOPs per image (multiply-adds x 2 of the GEMMs and attention products; for compressed models the honest count, with the official Prune and Merge formula beside it), and the BLAS kernel and thread count in use. --method tome, evit, pitome or diffrate times that baseline on a dense file or --arch (forward only). --json adds kind and method. --read DIR times reading a folder of images instead, without the model: every PNG/JPEG in DIR decoded and put through the model's eval transform on --threads threads, the work `eval --data DIR` does ahead of the model (images/s beside the model's own speed says whether reading can keep up). Compare with ONNX Runtime on the same weights: python3 ort_bench.py --batch N --threads T.
        """
    )

    @Option(help: "Model file (safetensors, timm names).") var model: String?
    @Option(help: "Images per forward pass.") var batch: Int = 1
    @Option(help: "Worker threads (by default one per CPU this process may use: all, or what taskset allows).") var threads: Int = defaultThreads
    @Option(help: "How long to time, after the warm-up.") var seconds: Double = 5
    @Option(help: "Number of attention heads, when the file's metadata does not say (default: width / 64).") var heads: Int?
    @Flag(help: "Time forward + backward + gradient-weighted scores (no parameter gradients): what the explorer computes per key press.") var backward = false
    @Flag(help: "Time a training step: forward, cross-entropy, backward with every parameter gradient.") var train = false
    @Flag(help: "Replay explorer key presses without a terminal (layer, keep, prune, score source, image): analysis + drawing per key.") var explorer = false
    @Option(help: "Time this architecture with random weights instead of a file: DIM,DEPTH,HEADS,IMG,PATCH,CHANNELS,CLASSES (e.g. 96,12,3,28,2,1,10).") var arch: String?
    @Option(help: ArgumentHelp("Time reading this folder of images (decode + the model's eval transform, no model) instead of the model.", valueName: "dir")) var read: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(inversion: .prefixedNo, help: "With --explorer: the bound on matmul primitives `explore` runs with (at most \(SessionMemory.primitivesPerThread) per thread and \(SessionMemory.sharedPrimitives) in oneDNN's shared cache, so a long session's memory levels off); --no-session-memory times the library's defaults (512 and 1,024).") var sessionMemory = true
    @Flag(help: "Run the block products on the plain weights (one dnnl_sgemm per call, as training does) instead of weights prepacked once for oneDNN's matmul: shows what packing buys.") var plainWeights = false
    @OptionGroup var how: MethodOptions

    func validate() throws {
        guard batch >= 1, batch <= 4096 else { throw ValidationError("--batch must be between 1 and 4096") }
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
        if [backward, train, explorer].filter({ $0 }).count > 1 { throw ValidationError("choose one of --backward, --train and --explorer") }
        if (model == nil) == (arch == nil) { throw ValidationError("give --model FILE or --arch SPEC") }
        if !sessionMemory && !explorer { throw ValidationError("--no-session-memory goes with --explorer") }
        if explorer && how.method != nil { throw ValidationError("--explorer replays the Prune and Merge explorer; drop --method") }
    }

    func run() throws {
        try reportingErrors {
            let any: AnyModel
            if let model {
                any = try how.load(model, heads: heads)
            } else {
                let m = try ViTModel(config: try parseArch(arch ?? ""))
                m.initializeForTraining(seed: 0)
                any = try how.apply(to: m)
            }
            let m = any.vit
            let c = m.config
            if let read {
                try Self.timeReading(read, model: m, threads: threads, json: json)
                return
            }
            if explorer {
                // As `explore` runs it: its memory settings, weights packed for the forward and the score pass.
                if sessionMemory { SessionMemory.configure() }
                if plainWeights { m.unpackWeights() } else { m.packWeights(forBackward: true) }
                try ExplorerBench.run(model: m, modelName: model ?? "arch", threads: threads, json: json)
                return
            }
            let work: BenchRunner.Work = backward ? .scores : (train ? .train : .forward)
            // Training changes the weights every step, so it runs on the plain ones.
            let packed = work != .train && !plainWeights
            if packed { m.packWeights(forBackward: work == .scores) }
            let result: BenchRunner.Result
            switch (any.isDense, work) {
            case (false, .forward):
                let runner = any.runner(batch: batch)
                let input = BenchRunner.randomInput(count: batch * c.channels * c.imageSize * c.imageSize)
                result = input.withUnsafeBufferPointer { x in
                    BenchRunner.measure(batch: batch, seconds: seconds) { runner.forward(images: x.baseAddress!, batch: batch, workers: threads) }
                }
            case (false, _):
                throw EngineError("--backward and --train time dense models; give the dense model file (without --method)")
            default:
                result = BenchRunner.run(work, model: m, batch: batch, threads: threads, seconds: seconds)
            }
            let name = model ?? "arch \(arch ?? "")"
            let blas = BLAS.configure()
            let gflops = any.flopsPerImage / 1e9, official = any.officialFlops / 1e9
            if json {
                let obj: [String: Any] = [
                    "model": name, "work": work.rawValue, "batch": batch, "threads": threads,
                    "images_per_s": round2(result.imagesPerSecond), "ms_per_batch": round3(result.msPerBatch),
                    "ms_per_batch_best": round3(result.bestMs), "gflops_per_image": round3(gflops),
                    "gflops_official": round3(official), "gflops_dense": round3(c.flopsPerImage / 1e9), "kind": any.kind,
                    "gflops_per_s": round2(gflops * result.imagesPerSecond), "runs": result.runs, "method": any.method,
                    "blas_core": blas.core, "engine": "tokenscope", "weights": packed ? "packed" : "plain",
                    "cpus": CPUPlacement.usableCount,
                ]
                print(try jsonLine(obj))
            } else {
                print("model      \(name)  (\(c.depth) blocks, dim \(c.dim), \(c.heads) heads, \(c.tokens) tokens)")
                print("work       \(work.rawValue)   batch \(batch)   threads \(threads) on \(CPUPlacement.usableCount) CPUs   kernels \(blas.core), weights \(packed ? "packed" : "plain")")
                print(String(format: "speed      %.2f images/s   %.3f ms/batch (best %.3f)   %d runs", result.imagesPerSecond, result.msPerBatch, result.bestMs, result.runs))
                print(String(format: "compute    %.3f GFLOPs/image (", gflops) + any.kind +
                      String(format: "; dense %.3f; official formula %.3f GMACs)   %.1f GFLOP/s", c.flopsPerImage / 1e9, official, gflops * result.imagesPerSecond))
                if !any.isDense { print("tokens     after each block: " + any.tokenCounts.map { String($0.mlp) }.joined(separator: " ")) }
            }
        }
    }
}

extension Bench {
    /// Decodes and preprocesses every image of `dir` on `threads` threads, as `eval` does ahead of the model.
    static func timeReading(_ dir: String, model m: ViTModel, threads: Int, json: Bool) throws {
        let folder = try ImageFolder.open(dir)
        let t0 = Clock.now()
        let stream = ImageStream(folder, preprocess: m.evalTransform, workers: threads, window: 4 * threads)
        var n = 0
        while try stream.next() != nil { n += 1 }
        let seconds = Clock.now() - t0
        if let note = stream.skippedSummary { printError(note) }
        let rate = seconds > 0 ? Double(n) / seconds : 0
        if json {
            print(try jsonLine(["data": folder.summary, "images": n, "threads": threads, "seconds": round3(seconds),
                                "images_per_s": round2(rate), "work": "read"]))
        } else {
            print("data       \(folder.summary)")
            print("work       read (decode + eval transform to \(m.config.channels)x\(m.config.imageSize)x\(m.config.imageSize), no model)   threads \(threads)")
            print(String(format: "speed      %.2f images/s   %.3f ms/image per thread", rate, rate > 0 ? 1000 * Double(threads) / rate : 0))
        }
    }
}

/// x to 2 and 3 decimals as printed; -0.0 comes back as 0 (JSON drops the sign, and "-0.0" reads as
/// a negative result).
func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 + 0 }
func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 + 0 }

func jsonLine(_ obj: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}

/// "DIM,DEPTH,HEADS,IMG,PATCH,CHANNELS,CLASSES" -> a configuration (mlp 4x, qkv bias, class token).
func parseArch(_ spec: String) throws -> ViTConfig {
    let v = spec.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == 7, let d = v[0], let depth = v[1], let h = v[2], let img = v[3], let p = v[4], let ch = v[5], let k = v[6] else {
        throw EngineError("--arch wants DIM,DEPTH,HEADS,IMG,PATCH,CHANNELS,CLASSES (7 integers), got \"\(spec)\"")
    }
    guard h > 0, d % h == 0 else { throw EngineError("--arch: heads \(h) must divide dim \(d)") }
    let c = ViTConfig(imageSize: img, patchSize: p, channels: ch, dim: d, depth: depth, heads: h, numClasses: k)
    try c.validate()
    return c
}
