import ArgumentParser
import Compression
import Engine
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One table on one model: dense, Prune and Merge (training-free and fine-tuned) and every other method at matching GFLOPs.",
        discussion: """
        For each keep ratio, Prune and Merge is planned from the calibrated ranks (training-free) and, when the fine-tuned file exists (assets/models/fmnist-pm-k70.safetensors for keep 0.70, or --finetuned DIR), run as shipped; every other method runs at its setting whose honest GFLOPs come closest to the training-free Prune and Merge model's (ToMe: r; EViT: keep rate at blocks 3, 6, 9; PiToMe: ratio in steps of 0.0025; DiffRate: the nearest of its ten published schedules, so its match is coarser). Columns: top-1 on the test images, GFLOPs per image (honest; official formula in GMACs), images/s at batch 1 and 32 measured in this run one model after the other on the same random input (--rounds interleaved rounds, default 2, each speed the best of its rounds), and the mIoU of the spatial probe (see `tokenscope probe`) on the full grid each method gives back. --json prints one JSON array of rows. --data may also be a folder of PNG/JPEG images (one subfolder per class, or flat: top-1 is then agreement with the dense model's top-1, as in `eval`); the probe's masks are Fashion-MNIST's ink, so on a folder the probe column is left empty (null in JSON) and --probe is not needed.
        """
    )

    @Option(help: "Dense model (default: the shipped one).") var model: String?
    @Option(help: "Calibrated ranks (default: the shipped model's).") var ranks: String?
    @Option(help: "Probe (default: the shipped model's).") var probe: String?
    @Option(help: "Folder with fine-tuned PM files named fmnist-pm-k70.safetensors, ... (default: assets/models).") var finetuned: String?
    @Option(help: ArgumentHelp(DataSource.help, valueName: "dir")) var data: String = IDXDataset.defaultDirectory
    @Flag(help: "Stop at the first image of a folder that cannot be read (default: skip it and report it).") var strict = false
    @Option(help: "Keep ratios, comma-separated.") var keeps: String = "0.7,0.6,0.5"
    @Option(help: "Prune rate of the training-free Prune and Merge plans (default: the fine-tuned file's, so both rows share one plan; 0.1, the official default, without one).") var prune: Double?
    @Option(help: "Score only the first N test images.") var limit: Int?
    @Option(help: "Test images for the probe.") var probeImages: Int = 2000
    @Option(help: "Seconds of timing per model and batch size.") var seconds: Double = 3
    @Option(help: "Timing rounds over all models; each speed is the best round.") var rounds: Int = 2
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Print one JSON array.") var json = false
    @Option(help: "Also write the JSON object to this file (atomically), e.g. beside the Markdown table.") var jsonOut: String?
    @Option(help: ArgumentHelp("Also draw top-1 against images/s (batch 32 and batch 1, one marker and dotted line per method, training-free in lower case, fine-tuned in upper case, dense *): FILE.png, or - for the same chart as text on stdout after the table.", valueName: "FILE.png|-")) var plot: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard probeImages >= 1, probeImages <= 10000 else { throw ValidationError("--probe-images must be in 1...10000") }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard rounds >= 1, rounds <= 20 else { throw ValidationError("--rounds must be in 1...20") }
        if let prune { guard prune >= 0, prune < 1 else { throw ValidationError("--prune must be in [0, 1)") } }
        _ = try parsedKeeps()
    }

    func parsedKeeps() throws -> [Double] {
        let v = keeps.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 && $0! + (prune ?? 0) <= 1 }) else {
            throw ValidationError("--keeps wants ratios in (0, 1) separated by commas, each at most 1 - prune")
        }
        return v.compactMap { $0 }
    }

    func run() throws {
        try reportingErrors {
            guard let modelPath = model ?? Assets.find("models/fmnist-vit.safetensors") else {
                throw EngineError("no model given and the shipped one (assets/models/fmnist-vit.safetensors) is not there yet; pass --model")
            }
            guard let rankPath = ranks ?? (model == nil ? Assets.find("models/fmnist-vit.ranks.safetensors") : nil) else {
                throw EngineError("no ranks: pass --ranks RANKS.safetensors (from `tokenscope calibrate`)")
            }
            let source = try DataSource.open(data)
            let probePath = probe ?? (model == nil ? Assets.find("models/fmnist-vit.probe.safetensors") : nil)
            if case .idx = source, probePath == nil {
                throw EngineError("no probe: pass --probe PROBE.safetensors (from `tokenscope probe --out`)")
            }
            let m = try ViTModel(path: modelPath)
            m.packWeights()
            let c = m.config
            let r = try Calibration.load(path: rankPath, for: c)
            var test: IDXDataset?
            var folder: ImageFolder?
            var p: PatchProbe?
            switch source {
            case .idx(let dir):
                let t = try IDXDataset.load(directory: dir, split: .test)
                guard c.channels == 1, c.imageSize == t.rows else {
                    throw EngineError("\(modelPath) takes \(c.channels)x\(c.imageSize)x\(c.imageSize) images; the data is 1x\(t.rows)x\(t.cols)")
                }
                test = t
                p = try probePath.map { try PatchProbe.load(path: $0, dim: c.dim) }
            case .folder(let f):
                try f.checkClasses(for: c, model: modelPath)
                folder = f.prefix(limit ?? f.count)
            }
            // The shipped fine-tuned files belong to the shipped model: only with it, unless --finetuned says where.
            let ftDir = finetuned ?? (model == nil ? Assets.find("models/fmnist-vit.safetensors").map { ($0 as NSString).deletingLastPathComponent } : nil)

            var entries: [(name: String, model: AnyModel, prune: Double?)] = [("dense", AnyModel(DenseModel(m)), nil)]
            // Per budget: the Prune and Merge rows and the other methods' rows matched to them.
            var budgets: [(pm: [Int], others: [Int])] = []
            for k in try parsedKeeps() {
                var budget: (pm: [Int], others: [Int]) = ([], [])
                let tag = String(format: "k%02d", Int((k * 100).rounded()))
                var finetunedModel: PMModel?
                if let dir = ftDir, FileManager.default.fileExists(atPath: "\(dir)/fmnist-pm-\(tag).safetensors") {
                    let path = "\(dir)/fmnist-pm-\(tag).safetensors"
                    let ft = try PMModel(path: path)
                    guard ft.dense.config == c else {
                        throw EngineError("\(path) was made from another model (its config differs from \(modelPath)'s); give --finetuned a folder with this model's files")
                    }
                    finetunedModel = ft
                }
                let pruneRate = prune ?? finetunedModel.flatMap { $0.metadata["prune"].flatMap(Double.init) } ?? 0.1
                guard k + pruneRate <= 1 + 1e-9 else { throw EngineError("keep \(k) + prune \(pruneRate) is more than 1; pass --prune") }
                let plan = try PMPlanner.plan(ranks: r, config: c, options: .init(keep: k, prune: pruneRate, blocks: Array(0..<c.depth), grouping: .grid))
                // Same recovery as the fine-tuned file, so the two rows differ only by fine-tuning.
                let pm = try PMModel(dense: m, blocks: plan, recovery: finetunedModel?.recovery ?? .update)
                budget.pm.append(entries.count)
                entries.append(("pm-\(tag)", AnyModel(pm), pruneRate))
                if let ft = finetunedModel {
                    budget.pm.append(entries.count)
                    entries.append(("pm-\(tag)-finetuned", AnyModel(ft), pruneRate))
                }
                // Every other method at its settings nearest this plan's FLOPs (dense has none: its row is first).
                for method in MethodRegistry.all where method.id != PruneAndMerge.id {
                    if let matched = try method.matching(flops: pm.flopsPerImage, dense: m, ranks: nil) {
                        budget.others.append(entries.count)
                        entries.append((matched.name, AnyModel(matched.model), nil))
                    }
                }
                budgets.append(budget)
            }
            var hits = [[Bool]](repeating: [], count: entries.count)

            var rows: [CompareRow] = []
            var denseB32 = 0.0
            let probeIdx = Array(0..<min(probeImages, test?.count ?? 0))
            var skippedNote: String?
            var scored = 0
            if !json { printError("timing \(entries.count) models, \(rounds) rounds...") }
            let speeds = bestSpeeds(entries.map(\.model), seconds: seconds, rounds: rounds, threads: threads)
            let started = Clock.now()
            for (k, (name, any, pmPrune)) in entries.enumerated() {
                if !json {
                    // The rows cost about the same (each runs the test images and the probe once).
                    let spent = Clock.now() - started
                    let eta = k > 0 ? String(format: ", about %.0f s left", spent / Double(k) * Double(entries.count - k)) : ""
                    printError("scoring \(k + 1)/\(entries.count): \(name)\(eta)")
                }
                var row = CompareRow(method: name, gflops: round3(any.flopsPerImage / 1e9), gflopsOfficial: round3(any.officialFlops / 1e9),
                                     prune: pmPrune)
                if let test {
                    let e = evaluate(any, on: test, limit: limit ?? test.count, threads: threads)
                    row.top1 = round2(e.top1)
                    hits[k] = e.hits
                    scored = e.images
                } else if let folder {
                    let (e, stream) = try evaluate(any, on: folder, batch: 100, threads: threads, strict: strict)
                    guard e.images > 0 else { throw EngineError("\(data): none of the \(folder.count) images could be read") }
                    row.top1 = round2(e.top1)
                    hits[k] = e.hits
                    scored = e.images
                    skippedNote = stream.skippedSummary
                }
                row.imagesPerSecondB1 = round2(speeds[k].b1)
                row.imagesPerSecondB32 = round2(speeds[k].b32)
                // Features through the model's own final norm (a fine-tuned file trains it), as `probe` reads them.
                if let p, let test {
                    let conf = try ProbeRun.evaluate(p, any.runner(batch: 50), model: any.vit, data: test, indices: probeIdx, workers: threads)
                    row.probeMIoU = round2(conf.miou)
                }
                if any.isDense { denseB32 = row.imagesPerSecondB32 }
                row.speedupB32 = round2(row.imagesPerSecondB32 / max(denseB32, 1e-9))
                row.flopsRatio = round2(c.flopsPerImage / any.flopsPerImage)
                rows.append(row)
            }
            if let skippedNote { printError(skippedNote) }
            // Each Prune and Merge row against every row matched to its budget, and fine-tuned against training-free.
            var pairs: [(Int, Int)] = []
            for b in budgets {
                for p in b.pm { for o in b.others { pairs.append((p, o)) } }
                if b.pm.count == 2 { pairs.append((b.pm[1], b.pm[0])) }
            }
            let comparisons = pairs.compactMap { a, b -> CompareRow.Comparison? in
                guard !hits[a].isEmpty, hits[a].count == hits[b].count else { return nil }
                return CompareRow.Comparison(a: entries[a].name, b: entries[b].name, test: PairedComparison(hits[a], hits[b]), matchedOn: "gflops")
            }
            let object: [String: Any] = ["rows": rows.map(\.json), "comparisons": comparisons.map(\.json)]
            if let jsonOut { try AtomicFile.write(Array((try jsonLine(object) + "\n").utf8), to: jsonOut) }
            if let plot, plot != "-" { try ComparePlot.write(rows, to: plot) }
            if json {
                print(try jsonLine(object))
                return
            }
            let what = folder.map { $0.isLabelled ? "images of \($0.root)" : "images of \($0.root), agreement with dense" } ?? "test images"
            print("| method | top-1 % (\(scored) \(what)) | GFLOPs (official GMACs) | images/s b1 | images/s b32 | speed-up b32 (FLOPs ratio) | probe mIoU % |")
            print("|---|---|---|---|---|---|---|")
            for r in rows { print(r.markdown) }
            if !comparisons.isEmpty {
                print("")
                print("| a | b | top-1 a - b (points) | 95 % interval | McNemar p | |")
                print("|---|---|---|---|---|---|")
                for cmp in comparisons { print(cmp.markdown) }
            }
            if plot == "-" {
                print("")
                try ComparePlot.write(rows, to: "-")
            }
        }
    }
}
