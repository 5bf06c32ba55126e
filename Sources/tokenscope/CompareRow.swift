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

    /// A row read back from the object `--json` printed.
    init(json o: [String: Any]) throws {
        method = try field(o, "method")
        gflops = try number(o, "gflops_per_image"); gflopsOfficial = try number(o, "gflops_official")
        prune = o["prune"] as? Double
        top1 = o["top1"] as? Double
        imagesPerSecondB1 = try number(o, "images_per_s_b1"); imagesPerSecondB32 = try number(o, "images_per_s_b32")
        guard let blockName: String = try? field(o, "block"), let block = CompareEntry.Block(rawValue: blockName) else {
            throw EngineError("row \(method): block must be \"training-free\" or \"fine-tuned\"")
        }
        self.block = block
        matchedTo = o["matched_to"] as? String
        matchedOn = try (o["matched_on"] as? [String] ?? []).map(matchKey)
        probeMIoU = o["probe_miou"] as? Double
        probeMIoUOwn = o["probe_miou_own"] as? Double
        speedupB32 = try number(o, "speedup_b32"); flopsRatio = try number(o, "flops_ratio")
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
    /// show it: the figures as printed, so a report read back (`compare --from`) prints the same.
    struct Comparison {
        var a: String, b: String
        var matchedOn: MatchKey
        /// A's top-1 minus B's and its 95 % interval (points, rounded as printed), McNemar's p.
        var diff: Double, ciLow: Double, ciHigh: Double, pValue: Double
        /// Images only A gets right, only B, and of how many (nil in reports written before it was kept).
        var onlyA: Int, onlyB: Int, images: Int?

        init(a: String, b: String, test: PairedComparison, matchedOn: MatchKey) {
            self.a = a; self.b = b; self.matchedOn = matchedOn
            diff = round2(test.difference)
            ciLow = round2(test.interval.lowerBound); ciHigh = round2(test.interval.upperBound)
            pValue = test.pValue
            onlyA = test.onlyA; onlyB = test.onlyB; images = test.images
        }

        init(json o: [String: Any]) throws {
            a = try field(o, "a"); b = try field(o, "b")
            matchedOn = try matchKey(try field(o, "matched_on"))
            diff = try number(o, "diff"); ciLow = try number(o, "ci_low"); ciHigh = try number(o, "ci_high")
            pValue = try number(o, "p_value")
            onlyA = try field(o, "only_a"); onlyB = try field(o, "only_b")
            images = o["images"] as? Int
        }

        var json: [String: Any] {
            var o: [String: Any] = ["a": a, "b": b, "diff": diff, "ci_low": ciLow, "ci_high": ciHigh, "p_value": pValue,
                                    "matched_on": matchedOn.rawValue, "only_a": onlyA, "only_b": onlyB]
            if let images { o["images"] = images }
            return o
        }

        var markdown: String {
            let verdict = PairedComparison.isSignificant(pValue: pValue) ? (diff > 0 ? "a better" : "b better") : "not significant"
            return "| \(a) | \(b) | \(matchedOn.rawValue) | \(diff) | [\(ciLow), \(ciHigh)] | \(String(format: "%.3g", pValue)) | \(verdict) |"
        }
    }

    /// The row of the Markdown table `compare` prints.
    var markdown: String {
        "| \(method) | \(top1.map { "\($0)" } ?? "") | \(gflops) (\(gflopsOfficial)) | \(imagesPerSecondB1) | \(imagesPerSecondB32) | \(speedupB32) (\(flopsRatio)) | \(probeMIoU.map { String($0) } ?? "-") | \(probeMIoUOwn.map { String($0) } ?? "-") | \(matchedTo.map { "\(matchedOn.map(\.rawValue).joined(separator: ", ")) of \($0)" } ?? "") |"
    }
}

/// A field of a report's JSON object, of the type asked for.
private func field<T>(_ o: [String: Any], _ key: String) throws -> T {
    guard let v = o[key] as? T else { throw EngineError("\(key) is missing or not a \(T.self)") }
    return v
}

/// A number of a report's JSON object (JSON does not tell integers from reals).
private func number(_ o: [String: Any], _ key: String) throws -> Double {
    if let v = o[key] as? Double { return v }
    if let v = o[key] as? Int { return Double(v) }
    throw EngineError("\(key) is missing or not a number")
}

private func matchKey(_ name: String) throws -> MatchKey {
    guard let k = MatchKey(rawValue: name) else { throw EngineError("matched_on \"\(name)\" is not one of gflops, images_per_s_b1, images_per_s_b32") }
    return k
}
