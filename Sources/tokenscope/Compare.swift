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

    @Option(help: ArgumentHelp("Print the table, --json and --plot from the JSON an earlier run wrote (--json-out) instead of running anything: e.g. to redraw the chart. Options that shape a run are not read.", valueName: "FILE.json")) var from: String?

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
            if let from {
                try output(CompareReport(jsonFile: from))
                return
            }
            guard let modelPath = model ?? Assets.find("models/fmnist-vit.safetensors") else {
                throw EngineError("no model given and the shipped one (assets/models/fmnist-vit.safetensors) is not there yet; pass --model")
            }
            guard let rankPath = ranks ?? (model == nil ? Assets.find("models/fmnist-vit.ranks.safetensors") : nil) else {
                throw EngineError("no ranks: pass --ranks RANKS.safetensors (from `tokenscope calibrate`)")
            }
            let m = try ViTModel(path: modelPath)
            m.packWeights()
            let scoring = try scoringData(for: m, modelPath: modelPath)
            // The shipped fine-tuned files belong to the shipped model: only with it, unless --finetuned says where.
            let ftDir = finetuned ?? (model == nil ? Assets.find("models/fmnist-vit.safetensors").map { ($0 as NSString).deletingLastPathComponent } : nil)
            var lineup = try CompareLineup(dense: m, modelPath: modelPath, ranks: try Calibration.load(path: rankPath, for: m.config),
                                           keeps: try parsedKeeps(), prune: prune, finetuned: ftDir)

            if !json { printError("timing \(lineup.entries.count) models, \(rounds) rounds...") }
            var speeds = Throughput.measure(lineup.entries.map(\.model), seconds: seconds, rounds: rounds, threads: threads)
            if matchSpeed {
                if !json { printError("matching on measured speed...") }
                let added = try lineup.matchSpeed(speeds: speeds, dense: m, seconds: seconds, threads: threads)
                // The added rows timed like the others, so every speed in the table comes from the same measurement.
                speeds += Throughput.measure(added.map { lineup.entries[$0].model }, seconds: seconds, rounds: rounds, threads: threads)
            }
            let scored = try CompareScoring.rows(lineup.entries, speeds: speeds, data: scoring, limit: limit, probeImages: probeImages,
                                                 probeTrainImages: probeTrainImages, threads: threads, progress: !json)
            if let note = scored.skipped { printError(note) }
            let comparisons = lineup.pairs.compactMap { a, b, on -> CompareRow.Comparison? in
                let ha = scored.hits[a], hb = scored.hits[b]
                guard !ha.isEmpty, ha.count == hb.count else { return nil }
                return CompareRow.Comparison(a: lineup.entries[a].name, b: lineup.entries[b].name, test: PairedComparison(ha, hb), matchedOn: on)
            }
            var what = "test images"
            if case .folder(let f, _) = scoring { what = f.isLabelled ? "images of \(f.root)" : "images of \(f.root), agreement with dense" }
            try output(CompareReport(rows: scored.rows, comparisons: comparisons, topOneOn: "\(scored.scored) \(what)"))
        }
    }

    /// The report as --json-out, --plot and --json (or the Markdown tables) ask.
    func output(_ report: CompareReport) throws {
        if let jsonOut { try AtomicFile.write(Array((try jsonLine(report.json) + "\n").utf8), to: jsonOut) }
        if let plot, plot != "-" { try ComparePlot.write(report.rows, to: plot) }
        if json {
            print(try jsonLine(report.json))
            return
        }
        print(report.markdown())
        if plot == "-" {
            print("")
            try ComparePlot.write(report.rows, to: "-")
        }
    }

    /// The test split (with the dense probe, and the training split when the own probes are wanted)
    /// or the image folder --data names, checked against the model.
    func scoringData(for m: ViTModel, modelPath: String) throws -> CompareScoring.Data {
        let c = m.config
        switch try DataSource.open(data) {
        case .idx(let dir):
            guard let probePath = probe ?? (model == nil ? Assets.find("models/fmnist-vit.probe.safetensors") : nil) else {
                throw EngineError("no probe: pass --probe PROBE.safetensors (from `tokenscope probe --out`)")
            }
            let test = try IDXDataset.load(directory: dir, split: .test)
            guard c.channels == 1, c.imageSize == test.rows else {
                throw EngineError("\(modelPath) takes \(c.channels)x\(c.imageSize)x\(c.imageSize) images; the data is 1x\(test.rows)x\(test.cols)")
            }
            return .testSplit(test, probe: try PatchProbe.load(path: probePath, dim: c.dim),
                              probeTraining: ownProbe ? try IDXDataset.load(directory: dir, split: .train) : nil)
        case .folder(let f):
            try f.checkClasses(for: c, model: modelPath)
            return .folder(f.prefix(limit ?? f.count), strict: strict)
        }
    }
}
