import ArgumentParser
import Compression
import Engine
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure top-1 accuracy and loss of a model on the Fashion-MNIST test images.",
        discussion: """
        The model must take 1-channel images of the data's size (28x28); images are normalised with the mean/std in the model's metadata. Prints top-1 (percent), mean cross-entropy, GFLOPs per image and images/s. Prune and Merge files run compressed, and --method tome or evit runs that baseline on a dense file (see --method); GFLOPs are then shown for the dense and the compressed model, counted honestly (merge/recover, ToMe's matching and EViT's fusion included) and by the official Prune and Merge formula. --json prints one object with top1, loss, images, gflops_per_image (honest), gflops_official, gflops_dense, images_per_s, kind, method, tokens_per_block (tokens after each block, CLS included) and, for Prune and Merge files, recovery (official or update).

        Examples:
          tokenscope eval --model m.safetensors --method tome --r 8
          tokenscope eval --model m.safetensors --method evit --keep-rate 0.7 --blocks 3,6,9
        """
    )

    @Option(help: "Model file (safetensors).") var model: String
    @Option(help: "Folder with the IDX files.") var data: String = IDXDataset.defaultDirectory
    @Option(help: "Score only the first N test images.") var limit: Int?
    @Option(help: "Images per forward pass.") var batch: Int = 100
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var how: MethodOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard batch >= 1, batch <= 4096 else { throw ValidationError("--batch must be between 1 and 4096") }
    }

    func run() throws {
        try reportingErrors {
            let any = try how.load(model)
            let m = any.vit
            let test = try IDXDataset.load(directory: data, split: .test)
            let c = m.config
            guard c.channels == 1, c.imageSize == test.rows, test.rows == test.cols else {
                throw EngineError("\(model) takes \(c.channels)x\(c.imageSize)x\(c.imageSize) images but \(data) holds 1x\(test.rows)x\(test.cols); eval needs a model trained on this data")
            }
            guard c.numClasses >= 10 else { throw EngineError("\(model) has \(c.numClasses) classes; the data has 10") }
            let r = evaluate(any, on: test, limit: limit ?? test.count, batch: batch, threads: threads)
            let gflops = any.flopsPerImage / 1e9, official = any.officialFlops / 1e9, dense = c.flopsPerImage / 1e9
            var recovery: String?
            if case .pm(let p) = any { recovery = p.recovery.rawValue }
            if json {
                var obj: [String: Any] = ["top1": round3(r.top1), "loss": round3(r.loss), "images": r.images, "kind": any.kind,
                                          "gflops_per_image": round3(gflops), "gflops_official": round3(official), "gflops_dense": round3(dense),
                                          "images_per_s": round2(r.imagesPerSecond), "model": model, "method": any.method,
                                          "tokens_per_block": any.tokenCounts.map(\.mlp)]
                if let recovery { obj["recovery"] = recovery }
                print(try jsonLine(obj))
            } else {
                print(String(format: "top-1 %.2f%%   loss %.4f   %d images   %.1f images/s", r.top1, r.loss, r.images, r.imagesPerSecond))
                print(String(format: "GFLOPs/image %.3f (", gflops) + any.kind + (recovery.map { ", \($0) recovery" } ?? "") +
                      String(format: "; dense %.3f)   official formula %.3f GMACs", dense, official))
                if any.method != "dense" { print("tokens after each block: " + any.tokenCounts.map { String($0.mlp) }.joined(separator: " ")) }
            }
        }
    }
}
