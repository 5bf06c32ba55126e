import Foundation
import Engine

/// One row of `compare`'s table: a model's accuracy, cost and speed, rounded as printed, with its
/// JSON object and its Markdown line.
struct CompareRow {
    var method: String
    /// Honest GFLOPs per image, and the official formula's GMACs.
    var gflops: Double, gflopsOfficial: Double
    /// The Prune and Merge plan's prune rate (Prune and Merge rows only).
    var prune: Double?
    var top1: Double?
    var imagesPerSecondB1 = 0.0, imagesPerSecondB32 = 0.0
    var block = CompareEntry.Block.trainingFree
    var matchedTo: String?
    var matchedOn: [MatchKey] = []
    /// The spatial probe's mIoU on the method's full grid (nil on an image folder): the probe
    /// trained on the dense model's grid, and one trained on this row's own grid.
    var probeMIoU: Double?
    var probeMIoUOwn: Double?
    /// Images/s at batch 32 against the dense row's, and the dense FLOPs against this row's.
    var speedupB32 = 0.0, flopsRatio = 0.0

    /// An entry's row before it is scored: its name, block, match and cost.
    init(_ e: CompareEntry) {
        method = e.name
        gflops = round3(e.model.flopsPerImage / 1e9)
        gflopsOfficial = round3(e.model.officialFlops / 1e9)
        prune = e.prune
        block = e.block
        matchedTo = e.matchedTo
        matchedOn = e.matchedOn
    }

    /// The object `--json` prints (`probe_miou` null when there is none; `prune` and `top1` only when set).
    var json: [String: Any] {
        var o: [String: Any] = ["method": method, "gflops_per_image": gflops, "gflops_official": gflopsOfficial,
                                "images_per_s_b1": imagesPerSecondB1, "images_per_s_b32": imagesPerSecondB32,
                                "probe_miou": probeMIoU ?? NSNull(), "probe_miou_own": probeMIoUOwn ?? NSNull(),
                                "speedup_b32": speedupB32, "flops_ratio": flopsRatio, "block": block.rawValue, "matched_on": matchedOn.map(\.rawValue)]
        if let matchedTo { o["matched_to"] = matchedTo }
        if let prune { o["prune"] = prune }
        if let top1 { o["top1"] = top1 }
        return o
    }

    /// Two rows' top-1 compared image by image (`PairedComparison`), as `--json` and the table
    /// show it.
    struct Comparison {
        var a: String, b: String
        var test: PairedComparison
        var matchedOn: MatchKey

        var json: [String: Any] {
            let ci = test.interval
            return ["a": a, "b": b, "diff": round2(test.difference), "ci_low": round2(ci.lowerBound), "ci_high": round2(ci.upperBound),
                    "p_value": test.pValue, "matched_on": matchedOn.rawValue, "only_a": test.onlyA, "only_b": test.onlyB]
        }

        var markdown: String {
            let ci = test.interval
            let verdict = test.significant ? (test.difference > 0 ? "a better" : "b better") : "not significant"
            return "| \(a) | \(b) | \(matchedOn.rawValue) | \(round2(test.difference)) | [\(round2(ci.lowerBound)), \(round2(ci.upperBound))] | \(String(format: "%.3g", test.pValue)) | \(verdict) |"
        }
    }

    /// The row of the Markdown table `compare` prints.
    var markdown: String {
        "| \(method) | \(top1.map { "\($0)" } ?? "") | \(gflops) (\(gflopsOfficial)) | \(imagesPerSecondB1) | \(imagesPerSecondB32) | \(speedupB32) (\(flopsRatio)) | \(probeMIoU.map { String($0) } ?? "-") | \(probeMIoUOwn.map { String($0) } ?? "-") | \(matchedTo.map { "\(matchedOn.map(\.rawValue).joined(separator: ", ")) of \($0)" } ?? "") |"
    }
}
