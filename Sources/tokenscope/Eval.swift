import ArgumentParser
import Compression
import Engine
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure top-1 accuracy and loss of a model on the Fashion-MNIST test images or a folder of images.",
        discussion: """
        --data is either a folder of Fashion-MNIST IDX files (the default; the t10k test split; the model must take 1-channel 28x28 images) or a folder of PNG/JPEG images, in one of two layouts: one subfolder per class (torchvision's ImageFolder: class ids in sorted folder-name order, so ImageNet's n01440764/... folders give ImageNet's ids; there must be one folder per model class) or all images in one flat folder (no labels: top-1 is then the agreement with the dense model's own top-1, 100 % for a dense model, and the loss is measured against those choices; a compressed model then also runs the dense pass, which images/s includes). Which layout was found is printed with the results (the data: line; "data" in --json). Folder images go through timm's eval transform for the model (resize, center crop, the model's mean/std), decoded and preprocessed on worker threads ahead of the model; images/s includes that. --limit N takes the first N images in the listing order: class folders in sorted name order, and inside each, files in sorted path order (torchvision's order). Unreadable files are skipped and counted on stderr; --strict makes the first one an error. Prints top-1 (percent), mean cross-entropy, GFLOPs per image and images/s. Prune and Merge files run compressed, and --method tome, evit, pitome or diffrate runs that baseline on a dense file (see --method); GFLOPs are then shown for the dense and the compressed model, counted honestly (merge/recover, ToMe's and PiToMe's matching, EViT's fusion and DiffRate's merge included) and by the official Prune and Merge formula. --json prints one object with top1, loss, images, gflops_per_image (honest), gflops_official, gflops_dense, images_per_s, kind, method, tokens_per_block (tokens after each block, CLS included) and, for Prune and Merge files, recovery (official or update).

        Examples:
          tokenscope eval --model m.safetensors --method tome --r 8
          tokenscope eval --model m.safetensors --method evit --keep-rate 0.7 --blocks 3,6,9
        """
    )

    @Option(help: "Model file (safetensors).") var model: String
    @Option(help: ArgumentHelp(DataSource.help, valueName: "dir")) var data: String = IDXDataset.defaultDirectory
    @Option(help: "Score only the first N images (listing order; see above).") var limit: Int?
    @Option(help: "Which Fashion-MNIST images: test (the t10k split) or validation (the last --validation-images training images, the hold-out that `train` and `finetune --validation-images N` never train on; choose settings there, report test).") var split: EvalSplit = .test
    @Option(help: "Size of the validation hold-out: the last N training images.") var validationImages: Int = 5000
    @Flag(help: "Stop at the first image of a folder that cannot be read (default: skip it and report it at the end).") var strict = false
    @Option(help: "Images per forward pass.") var batch: Int = 100
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Write the measured top-1 into the model file's metadata (test_top1 and test_images, or validation_top1 and validation_images with --split validation), the tensors untouched, atomically: how a file chosen on the validation split gets its test score recorded. Needs the whole IDX split (no --limit) and the file as it is (no --method).") var record = false
    @OptionGroup var how: MethodOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard batch >= 1, batch <= 4096 else { throw ValidationError("--batch must be between 1 and 4096") }
        guard validationImages >= 1 else { throw ValidationError("--validation-images must be at least 1") }
        if record && (limit != nil || how.method != nil) {
            throw ValidationError("--record writes a score of the file as it is on a whole split: drop --limit and --method")
        }
    }

    func run() throws {
        try reportingErrors {
            let any = try how.load(model)
            let m = any.vit
            let c = m.config
            let source = try DataSource.open(data)
            let r: EvalResult
            var labels = "given"
            switch source {
            case .idx(let dir):
                let test = try split.images(directory: dir, validationImages: validationImages)
                guard c.channels == 1, c.imageSize == test.rows, test.rows == test.cols else {
                    throw EngineError("\(model) takes \(c.channels)x\(c.imageSize)x\(c.imageSize) images but \(data) holds 1x\(test.rows)x\(test.cols); eval needs a model trained on this data")
                }
                guard c.numClasses >= 10 else { throw EngineError("\(model) has \(c.numClasses) classes; the data has 10") }
                r = evaluate(any, on: test, limit: limit ?? test.count, batch: batch, threads: threads)
            case .folder(let all):
                if record { throw EngineError("--record scores the Fashion-MNIST IDX splits; \(data) is an image folder") }
                guard split == .test else {
                    throw EngineError("--split validation holds out Fashion-MNIST training images; \(data) is an image folder: point --data at a folder of held-out images instead")
                }
                try all.checkClasses(for: c, model: model)
                let folder = all.prefix(limit ?? all.count)
                let (result, stream) = try evaluate(any, on: folder, batch: batch, threads: threads, strict: strict)
                if let note = stream.skippedSummary { printError(note) }
                guard result.images > 0 else {
                    throw EngineError("\(data): none of the \(folder.count) images could be read; see the messages above")
                }
                r = result
                if !folder.isLabelled { labels = "dense model's top-1 (flat folder, no labels)" }
            }
            if record {
                let file = try SafeTensorsFile(path: model)
                var meta = file.metadata
                meta["\(split.rawValue)_top1"] = String(format: "%.2f", r.top1)
                meta["\(split.rawValue)_images"] = String(r.images)
                try file.rewritten(metadata: meta).write(to: model)
                printError(String(format: "recorded %@_top1 %.2f (%d images) in %@", split.rawValue, r.top1, r.images, model))
            }
            let gflops = any.flopsPerImage / 1e9, official = any.officialFlops / 1e9, dense = c.flopsPerImage / 1e9
            let reported = any.model.reportedSettings
            if json {
                var obj: [String: Any] = ["top1": round3(r.top1), "loss": round3(r.loss), "images": r.images, "kind": any.kind,
                                          "gflops_per_image": round3(gflops), "gflops_official": round3(official), "gflops_dense": round3(dense),
                                          "images_per_s": round2(r.imagesPerSecond), "model": model, "method": any.method,
                                          "tokens_per_block": any.tokenCounts.map(\.mlp), "labels": labels, "data": source.summary,
                                          "split": split.rawValue]
                for (key, value) in reported { obj[key] = value }
                print(try jsonLine(obj))
            } else {
                print("data: " + source.summary + (split == .validation ? ", the last \(r.images) training images (validation hold-out)" : ""))
                print(String(format: "top-1 %.2f%%   loss %.4f   %d images   %.1f images/s", r.top1, r.loss, r.images, r.imagesPerSecond) +
                      (labels == "given" ? "" : "   (labels: the \(labels))"))
                print(String(format: "GFLOPs/image %.3f (", gflops) + any.kind + reported.map { ", \($0.value) \($0.key)" }.joined() +
                      String(format: "; dense %.3f)   official formula %.3f GMACs", dense, official))
                if !any.isDense { print("tokens after each block: " + any.tokenCounts.map { String($0.mlp) }.joined(separator: " ")) }
            }
        }
    }
}

/// The Fashion-MNIST images `eval` scores: the test split, or the validation hold-out at the end
/// of the training split (`IDXDataset.holdingOut`, the same images `--validation-images` keeps out
/// of training).
enum EvalSplit: String, ExpressibleByArgument, CaseIterable {
    case test, validation

    func images(directory: String, validationImages n: Int) throws -> IDXDataset {
        switch self {
        case .test: return try IDXDataset.load(directory: directory, split: .test)
        case .validation:
            let train = try IDXDataset.load(directory: directory, split: .train)
            guard n < train.count else {
                throw EngineError("--validation-images \(n): the training split has only \(train.count) images; give fewer")
            }
            return train.suffix(n)
        }
    }
}
