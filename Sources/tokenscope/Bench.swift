import ArgumentParser
import Engine
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the forward pass of a model on random input.",
        discussion: """
        Runs a warm-up, then as many forward passes as fit in --seconds, on a fixed random batch
        (seed 0). Prints images/s, milliseconds per batch, GFLOPs per image (multiply-adds x 2 of the
        GEMMs and attention products), and the BLAS kernel and thread count in use.
        Compare with ONNX Runtime on the same weights: python3 ort_bench.py --batch N --threads T.
        """
    )

    @Option(help: "Model file (safetensors, timm names).") var model: String
    @Option(help: "Images per forward pass.") var batch: Int = 1
    @Option(help: "Worker threads (one per core by default).") var threads: Int = defaultThreads
    @Option(help: "How long to time, after the warm-up.") var seconds: Double = 5
    @Option(help: "Number of attention heads, when the file's metadata does not say (default: width / 64).") var heads: Int?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard batch >= 1, batch <= 4096 else { throw ValidationError("--batch must be between 1 and 4096") }
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
    }

    func run() throws {
        try reportingErrors {
            let m = try ViTModel(path: model, heads: heads)
            let c = m.config
            let result = BenchRunner.forward(model: m, batch: batch, threads: threads, seconds: seconds)
            let blas = BLAS.configure()
            let gflops = c.flopsPerImage / 1e9
            if json {
                let obj: [String: Any] = [
                    "model": model, "batch": batch, "threads": threads,
                    "images_per_s": round2(result.imagesPerSecond), "ms_per_batch": round3(result.msPerBatch),
                    "ms_per_batch_best": round3(result.bestMs), "gflops_per_image": round3(gflops),
                    "gflops_per_s": round2(gflops * result.imagesPerSecond), "runs": result.runs,
                    "blas_core": blas.core, "engine": "tokenscope",
                ]
                print(try jsonLine(obj))
            } else {
                print("model      \(model)  (\(c.depth) blocks, dim \(c.dim), \(c.heads) heads, \(c.tokens) tokens)")
                print("batch      \(batch)   threads \(threads)   BLAS core \(blas.core)")
                print(String(format: "speed      %.2f images/s   %.3f ms/batch (best %.3f)   %d runs", result.imagesPerSecond, result.msPerBatch, result.bestMs, result.runs))
                print(String(format: "compute    %.3f GFLOPs/image   %.1f GFLOP/s", gflops, gflops * result.imagesPerSecond))
            }
        }
    }
}

func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

func jsonLine(_ obj: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}
