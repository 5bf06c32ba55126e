import ArgumentParser
import Compression
import Engine
import Foundation

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure how much spatial information a method keeps: a linear per-patch foreground probe, scored by mIoU.",
        discussion: """
        Without --probe: trains the probe on the dense model (logistic regression on the final patch tokens, through the model's final LayerNorm, of --train-images training images; a patch is foreground when more than half its pixels are above 64 of 255), reports its mIoU on --test-images test images and writes it to --out.
        With --probe: evaluates that probe on the full token grid a method gives back (--method, as in eval): Prune and Merge restores every token; ToMe unmerges through its source matrix (each patch gets the token holding it); EViT keeps only the kept tokens in place, and every dropped patch gets the fused token; PiToMe unmerges as ToMe; DiffRate unmerges its merged tokens and a patch it discarded keeps its value from the block that discarded it.
        mIoU is the mean over background and foreground of intersection / union, over all patches of the test images, in percent.
        """
    )

    @Option(help: "Model file (safetensors).") var model: String
    @Option(help: "A trained probe to evaluate (default: train one).") var probe: String?
    @Option(help: "Where to write the trained probe.") var out: String?
    @Option(help: "Folder with the IDX files.") var data: String = IDXDataset.defaultDirectory
    @Option(help: "Training images for the probe (the first N of a fixed stride over the training split).") var trainImages: Int = 2000
    @Option(help: "Test images to score (the first N).") var testImages: Int = 2000
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var how: MethodOptions

    func validate() throws {
        // Training holds every feature in memory: 10,000 images of 196 patches x 96 floats is 750 MB.
        guard trainImages >= 1, trainImages <= 10000, testImages >= 1, testImages <= 10000 else {
            throw ValidationError("--train-images and --test-images must be in 1...10000")
        }
        if probe == nil && out == nil { throw ValidationError("give --out P.safetensors to train a probe, or --probe P.safetensors to evaluate one") }
        if probe != nil && out != nil { throw ValidationError("--out is for training; with --probe the probe is only evaluated") }
        if probe == nil && how.method != nil && how.method?.id != Dense.id { throw ValidationError("the probe is trained on the dense model: drop --method, or evaluate with --probe") }
    }

    func run() throws {
        try reportingErrors {
            let any = try how.load(model)
            let m = any.vit
            let test = try IDXDataset.load(directory: data, split: .test)
            let runner = any.runner(batch: 50)
            let testIdx = Array(0..<min(testImages, test.count))
            let p: PatchProbe
            var trainedNote = ""
            if let probe {
                p = try PatchProbe.load(path: probe, dim: m.config.dim)
            } else {
                guard any.isDense else {
                    throw EngineError("\(model) runs as \(any.kind); the probe is trained on a dense model (give the dense file, then evaluate this one with --probe)")
                }
                let train = try IDXDataset.load(directory: data, split: .train)
                let idx = ProbeRun.trainingIndices(count: trainImages, of: train.count)
                let (f, y) = try ProbeRun.collect(runner, model: m, data: train, indices: idx, workers: threads)
                p = PatchProbe.train(features: f, labels: y, dim: m.config.dim)
                trainedNote = "trained on \(idx.count) training images (\(y.count) patches, \(y.filter { $0 == 1 }.count) foreground)"
            }
            let conf = try ProbeRun.evaluate(p, runner, model: m, data: test, indices: testIdx, workers: threads)
            if let out {
                try p.save(to: out, metadata: ["model": (model as NSString).lastPathComponent, "threshold": "64",
                                               "train_images": "\(trainImages)", "test_images": "\(testIdx.count)",
                                               "dense_miou": String(format: "%.2f", conf.miou),
                                               "command": "tokenscope probe --model \((model as NSString).lastPathComponent) --train-images \(trainImages) --test-images \(testImages) --out \((out as NSString).lastPathComponent)"])
            }
            if json {
                print(try jsonLine(["model": model, "method": any.method, "probe_miou": round2(conf.miou), "test_images": testIdx.count,
                                    "iou_background": round2(100 * Double(conf.intersection[0]) / Double(max(1, conf.union[0]))),
                                    "iou_foreground": round2(100 * Double(conf.intersection[1]) / Double(max(1, conf.union[1])))]))
            } else {
                if !trainedNote.isEmpty { print("probe " + trainedNote + (out.map { ", written to \($0)" } ?? "")) }
                print(String(format: "probe mIoU %.2f%% on %d test images", conf.miou, testIdx.count) + " (\(any.method))")
            }
        }
    }
}
