import ArgumentParser
import Compression
import Engine
import Foundation

struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure several models side by side: accuracy, GFLOPs, images/s at batch 1 and 32, speed-up.",
        discussion: "The first model is the reference for the speed-up (give the dense model first). Top-1 is on the Fashion-MNIST test images (skipped with --no-accuracy, e.g. for ImageNet models); speeds are measured in this one run, each model in turn, on the same random input, in --rounds interleaved rounds (default 2), each speed the best of its rounds. GFLOPs are the honest count (merge and recover included); 'official' is the official Prune and Merge formula in GMACs. Prints a Markdown table, or one JSON array with --json."
    )

    @Argument(help: "Model files (dense first).") var models: [String]
    @Option(help: "Folder with the IDX files.") var data: String = IDXDataset.defaultDirectory
    @Option(help: "Seconds of timing per model and batch size.") var seconds: Double = 5
    @Option(help: "Timing rounds over all models; each speed is the best round (a slow moment of a noisy machine then hits one round, not the reference).") var rounds: Int = 2
    @Flag(help: "Skip the accuracy column.") var noAccuracy = false
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Print one JSON array.") var json = false

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model") }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard rounds >= 1, rounds <= 20 else { throw ValidationError("--rounds must be in 1...20") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try models.map { try AnyModel(path: $0) }
            let test = noAccuracy ? nil : try IDXDataset.load(directory: data, split: .test)
            var rows: [[String: Any]] = []
            var reference: Double?
            let speeds = Throughput.measure(loaded, seconds: seconds, rounds: rounds, threads: threads)
            for (k, (path, any)) in zip(models, loaded).enumerated() {
                var row: [String: Any] = ["model": path, "kind": any.kind, "gflops_per_image": round3(any.flopsPerImage / 1e9),
                                          "gflops_official": round3(any.officialFlops / 1e9)]
                if !any.isDense { row["tokens_per_block"] = any.tokenCounts.map(\.mlp) }
                if let test { row["top1"] = round2(evaluate(any, on: test, limit: test.count, threads: threads).top1) }
                row["images_per_s_b1"] = round2(speeds[k].b1)
                row["images_per_s_b32"] = round2(speeds[k].b32)
                let b32 = speeds[k].b32
                if reference == nil { reference = b32 }
                row["speedup_b32"] = round2(b32 / max(reference ?? 1, 1e-9))
                row["flops_ratio"] = round2((loaded[0].flopsPerImage) / any.flopsPerImage)
                rows.append(row)
            }
            if json {
                print(try jsonLine(rows))
                return
            }
            print("| model | top-1 % | GFLOPs (official GMACs) | images/s b1 | images/s b32 | speed-up b32 | FLOPs ratio |")
            print("|---|---|---|---|---|---|---|")
            for r in rows {
                let top = (r["top1"] as? Double).map { String(format: "%.2f", $0) } ?? "-"
                print("| \(r["model"] ?? "") | \(top) | \(r["gflops_per_image"] ?? "") (\(r["gflops_official"] ?? "")) | \(r["images_per_s_b1"] ?? "") | \(r["images_per_s_b32"] ?? "") | \(r["speedup_b32"] ?? "") | \(r["flops_ratio"] ?? "") |")
            }
        }
    }
}
