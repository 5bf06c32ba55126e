import ArgumentParser
import Compression
import Engine
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One table on one model: dense, Prune and Merge (training-free and fine-tuned) and every other method, matched on GFLOPs and on measured speed.",
        discussion: """
        For each keep ratio, Prune and Merge is planned from the calibrated ranks (training-free) and, when the fine-tuned file exists (assets/models/fmnist-pm-k70.safetensors for keep 0.70, or --finetuned DIR), run as shipped. Every other method runs at its setting whose honest GFLOPs come closest to the training-free Prune and Merge model's (ToMe: r; EViT: keep rate at blocks 3, 6, 9; PiToMe: ratio in steps of 0.0025; DiffRate: the nearest of its ten published schedules, so its match is coarser), and, with --match-speed (the default), at the settings whose measured images/s at batch 1 and at batch 32 come closest to the Prune and Merge file's (candidates within 35 % of its FLOPs, timed briefly in this run; the chosen rows are then timed like every other). A method fine-tuned at the budget (DIR/fmnist-tome-k60.safetensors, from `finetune --method tome`) gets a row of its own.

        The rows fall into two blocks, compared within each: training-free (every method off the shelf) and fine-tuned (Prune and Merge's file and the baselines fine-tuned on the same budget); the dense model is the reference of both. Columns: top-1 on the test images, GFLOPs per image (honest; official formula in GMACs), images/s at batch 1 and 32 measured in this run one model after the other on the same random input (--rounds interleaved rounds, default 2, each speed the best of its rounds), and two spatial probes' mIoU on the full grid each method gives back: the probe trained on the dense model's grid (--probe: how close the grid stays to the dense features) and, with --own-probe (the default), the same probe trained on the row's own grid with the same images and steps (what a head trained on that model could read). Then a paired test for each compared pair of rows (McNemar's exact test on the images where they disagree, a 95 % interval for the difference in top-1).

        --json prints one object: rows (method, block, top1, gflops_per_image, gflops_official, images_per_s_b1, images_per_s_b32, probe_miou, probe_miou_own, matched_to, matched_on, speedup_b32, flops_ratio) and comparisons (a, b, diff, ci_low, ci_high, p_value, matched_on, only_a, only_b). --limit N scores the first N test images for a quick look. --data may also be a folder of PNG/JPEG images (one subfolder per class, or flat: top-1 is then agreement with the dense model's top-1, as in `eval`); the probes' masks are Fashion-MNIST's ink, so on a folder the probe columns are left empty (null in JSON) and --probe is not needed.
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
    @Flag(inversion: .prefixedNo, help: "Also train a probe on each row's own grid (the same probe, training images and steps as the dense one) and report its mIoU (probe_miou_own).") var ownProbe = true
    @Option(help: "Training images for the own probes (the first N of a fixed stride over the training split, as `probe --train-images`).") var probeTrainImages: Int = 2000
    @Flag(inversion: .prefixedNo, help: "Also match each baseline to each Prune and Merge file on measured images/s at batch 1 and at batch 32 (candidates within 35 % of its FLOPs, timed in this run), adding those rows.") var matchSpeed = true
    @Option(help: "Seconds of timing per model and batch size.") var seconds: Double = 3
    @Option(help: "Timing rounds over all models; each speed is the best round.") var rounds: Int = 2
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Print one JSON object (rows and comparisons).") var json = false
    @Option(help: "Also write the JSON object to this file (atomically), e.g. beside the Markdown table.") var jsonOut: String?
    @Option(help: ArgumentHelp("Also draw top-1 against images/s (batch 32 and batch 1, one marker and dotted line per method, training-free in lower case, fine-tuned in upper case, dense *): FILE.png, or - for the same chart as text on stdout after the table.", valueName: "FILE.png|-")) var plot: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard probeImages >= 1, probeImages <= 10000 else { throw ValidationError("--probe-images must be in 1...10000") }
        guard probeTrainImages >= 1, probeTrainImages <= 10000 else { throw ValidationError("--probe-train-images must be in 1...10000") }
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

            var entries: [CompareEntry] = [CompareEntry(name: "dense", model: AnyModel(DenseModel(m)), block: .trainingFree)]
            // Per budget: the Prune and Merge rows and the other methods' rows matched to them.
            var budgets: [CompareBudget] = []
            for k in try parsedKeeps() {
                var budget = CompareBudget()
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
                budget.pmFree = entries.count
                entries.append(CompareEntry(name: "pm-\(tag)", model: AnyModel(pm), block: .trainingFree, prune: pruneRate))
                if let ft = finetunedModel {
                    budget.pmTuned = entries.count
                    entries.append(CompareEntry(name: "pm-\(tag)-finetuned", model: AnyModel(ft), block: .fineTuned, prune: pruneRate))
                }
                // Every other method at its settings nearest this plan's FLOPs (dense has none: its row is first),
                // and, where the folder has one, the method fine-tuned at this budget (fmnist-tome-k60.safetensors).
                for method in MethodRegistry.all where method.id != PruneAndMerge.id {
                    guard let matched = try method.matching(flops: pm.flopsPerImage, dense: m, ranks: nil) else { continue }
                    budget.others.append(entries.count)
                    entries.append(CompareEntry(name: matched.name, model: AnyModel(matched.model), block: .trainingFree,
                                                matchedTo: entries[budget.pmFree].name, matchedOn: ["gflops"]))
                    let path = ftDir.map { "\($0)/fmnist-\(method.id)-\(tag).safetensors" }
                    if let path, FileManager.default.fileExists(atPath: path) {
                        let tuned = try AnyModel(path: path)
                        guard tuned.vit.config == c, tuned.method == method.id else {
                            throw EngineError("\(path) is not \(modelPath) fine-tuned under --method \(method.id); give --finetuned a folder with this model's files")
                        }
                        // Named after the training-free row when it runs the same token counts (it was made at that
                        // setting), else after the budget (tome-k60-finetuned).
                        let same = tuned.tokenCounts == matched.model.tokenCounts
                        let name = (same ? matched.name : "\(method.id)-\(tag)") + "-finetuned"
                        budget.othersTuned.append(entries.count)
                        entries.append(CompareEntry(name: name, model: tuned, block: .fineTuned,
                                                    matchedTo: entries[budget.pmTuned ?? budget.pmFree].name, matchedOn: ["gflops"]))
                    }
                }
                budgets.append(budget)
            }
            if !json { printError("timing \(entries.count) models, \(rounds) rounds...") }
            var speeds = bestSpeeds(entries.map(\.model), seconds: seconds, rounds: rounds, threads: threads)
            // Matched on speed: per budget and method, the training-free setting nearest the Prune and Merge file's
            // measured images/s at batch 1 and at batch 32, among candidates timed here (within 35 % of its FLOPs).
            if matchSpeed {
                if !json { printError("matching on measured speed...") }
                var added: [Int] = []
                for (q, budget) in budgets.enumerated() {
                    let target = budget.pmTuned ?? budget.pmFree
                    for method in MethodRegistry.all where method.id != PruneAndMerge.id && method.id != Dense.id {
                        let pool = try method.candidates(near: entries[target].model.flopsPerImage, within: 0.35, count: 7, dense: m, ranks: nil)
                        guard !pool.isEmpty else { continue }
                        let quick = bestSpeeds(pool.map { AnyModel($0.model) }, seconds: max(seconds / 3, 0.1), rounds: 1, threads: threads)
                        for (key, speed) in [("images_per_s_b1", { (s: (b1: Double, b32: Double)) in s.b1 }), ("images_per_s_b32", { $0.b32 })] {
                            let want = speed(speeds[target])
                            guard let best = pool.indices.min(by: { abs(log(speed(quick[$0]) / want)) < abs(log(speed(quick[$1]) / want)) }) else { continue }
                            let name = pool[best].name
                            if let existing = entries.firstIndex(where: { $0.name == name && $0.block == .trainingFree }) {
                                if !entries[existing].matchedOn.contains(key) { entries[existing].matchedOn.append(key) }
                                if !budgets[q].speedMatched.contains(where: { $0.0 == existing && $0.1 == key }) { budgets[q].speedMatched.append((existing, key)) }
                            } else {
                                budgets[q].speedMatched.append((entries.count, key))
                                added.append(entries.count)
                                entries.append(CompareEntry(name: name, model: AnyModel(pool[best].model), block: .trainingFree,
                                                            matchedTo: entries[target].name, matchedOn: [key]))
                            }
                        }
                    }
                }
                // The added rows timed like the others, so every speed in the table comes from the same measurement.
                let extra = bestSpeeds(added.map { entries[$0].model }, seconds: seconds, rounds: rounds, threads: threads)
                speeds += extra
            }
            var hits = [[Bool]](repeating: [], count: entries.count)
            var rows: [CompareRow] = []
            var denseB32 = 0.0
            let probeIdx = Array(0..<min(probeImages, test?.count ?? 0))
            let probeTrain = try ownProbe && p != nil ? IDXDataset.load(directory: data, split: .train) : nil
            let ownIdx = probeTrain.map { ProbeRun.trainingIndices(count: probeTrainImages, of: $0.count) } ?? []
            var skippedNote: String?
            var scored = 0
            let started = Clock.now()
            for (k, entry) in entries.enumerated() {
                let any = entry.model
                if !json {
                    // The rows cost about the same (each runs the test images and the probes once).
                    let spent = Clock.now() - started
                    let eta = k > 0 ? String(format: ", about %.0f s left", spent / Double(k) * Double(entries.count - k)) : ""
                    printError("scoring \(k + 1)/\(entries.count): \(entry.name)\(eta)")
                }
                var row = CompareRow(method: entry.name, gflops: round3(any.flopsPerImage / 1e9), gflopsOfficial: round3(any.officialFlops / 1e9),
                                     prune: entry.prune)
                row.block = entry.block
                row.matchedTo = entry.matchedTo
                row.matchedOn = entry.matchedOn
                if let test {
                    // Features through the model's own final norm (a fine-tuned file trains it), as `probe` reads them;
                    // the own probe learns first, then one pass over the test images scores top-1 and both probes.
                    let own = try probeTrain.map { try ProbeRun.train(any.runner(batch: 50), model: any.vit, data: $0, indices: ownIdx, workers: threads) }
                    let probes = (p.map { [$0] } ?? []) + (own.map { [$0] } ?? [])
                    let (e, conf) = CompareScoring.scoreOnce(any, test: test, limit: limit ?? test.count, probeCount: probeIdx.count,
                                                             probes: probes, threads: threads)
                    row.top1 = round2(e.top1)
                    hits[k] = e.hits
                    scored = e.images
                    if p != nil { row.probeMIoU = round2(conf[0].miou) }
                    if own != nil { row.probeMIoUOwn = round2(conf[1].miou) }
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
                if any.isDense { denseB32 = row.imagesPerSecondB32 }
                row.speedupB32 = round2(row.imagesPerSecondB32 / max(denseB32, 1e-9))
                row.flopsRatio = round2(c.flopsPerImage / any.flopsPerImage)
                rows.append(row)
            }
            if let skippedNote { printError(skippedNote) }
            // Per budget: training-free Prune and Merge against every training-free row matched to it (on FLOPs, and
            // on speed: matched to the file's speed, which runs the same plan), the fine-tuned file against every fine-tuned row, fine-tuned against training-free for each
            // method, and the fine-tuned file against the training-free rows (what the table showed before the
            // fine-tuned baselines existed).
            var pairs: [(Int, Int, String)] = []
            for b in budgets {
                for o in b.others { pairs.append((b.pmFree, o, "gflops")) }
                for (o, key) in b.speedMatched { pairs.append((b.pmFree, o, key)) }
                if let t = b.pmTuned {
                    for o in b.othersTuned { pairs.append((t, o, "gflops")) }
                    pairs.append((t, b.pmFree, "gflops"))
                    for o in b.others { pairs.append((t, o, "gflops")) }
                }
                for o in b.othersTuned {
                    if let free = b.others.first(where: { entries[o].name == entries[$0].name + "-finetuned" }) { pairs.append((o, free, "gflops")) }
                }
            }
            let comparisons = pairs.compactMap { a, b, on -> CompareRow.Comparison? in
                guard !hits[a].isEmpty, hits[a].count == hits[b].count else { return nil }
                return CompareRow.Comparison(a: entries[a].name, b: entries[b].name, test: PairedComparison(hits[a], hits[b]), matchedOn: on)
            }
            let object: [String: Any] = ["rows": rows.map(\.json), "comparisons": comparisons.map(\.json)]
            if let jsonOut { try AtomicFile.write(Array((try jsonLine(object) + "\n").utf8), to: jsonOut) }
            if let plot, plot != "-" { try ComparePlot.write(rows, to: plot) }
            if json {
                print(try jsonLine(object))
                return
            }
            let what = folder.map { $0.isLabelled ? "images of \($0.root)" : "images of \($0.root), agreement with dense" } ?? "test images"
            for block in [CompareEntry.Block.trainingFree, .fineTuned] where rows.contains(where: { $0.block == block && $0.method != "dense" }) {
                print("### " + (block == .trainingFree ? "Training-free" : "Fine-tuned on the same budget (dense model for reference)"))
                print("")
                print("| method | top-1 % (\(scored) \(what)) | GFLOPs (official GMACs) | images/s b1 | images/s b32 | speed-up b32 (FLOPs ratio) | probe mIoU % (dense probe) | probe mIoU % (own probe) | matched on |")
                print("|---|---|---|---|---|---|---|---|---|")
                for r in rows where r.block == block || r.method == "dense" { print(r.markdown) }
                print("")
            }
            if !comparisons.isEmpty {
                print("| a | b | matched on | top-1 a - b (points) | 95 % interval | McNemar p | |")
                print("|---|---|---|---|---|---|---|")
                for cmp in comparisons { print(cmp.markdown) }
            }
            if plot == "-" {
                print("")
                try ComparePlot.write(rows, to: "-")
            }
        }
    }
}
