import Engine
import Foundation

/// `compare`'s result: the scored rows and the paired tests, as one JSON object and as Markdown
/// (one table per block, the dense row heading both, then the paired tests).
struct CompareReport {
    var rows: [CompareRow]
    var comparisons: [CompareRow.Comparison]
    /// What top-1 is measured on ("10000 test images").
    var topOneOn: String

    var json: [String: Any] { ["rows": rows.map(\.json), "comparisons": comparisons.map(\.json), "top1_on": topOneOn] }

    init(rows: [CompareRow], comparisons: [CompareRow.Comparison], topOneOn: String) {
        self.rows = rows; self.comparisons = comparisons; self.topOneOn = topOneOn
    }

    /// A report read back from the JSON `compare --json-out` wrote (`compare --from`). Reports
    /// written before `top1_on` was kept say "test images".
    init(jsonFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError("cannot read \(path): pass the JSON an earlier `compare --json-out` wrote")
        }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let rows = o["rows"] as? [[String: Any]], let comparisons = o["comparisons"] as? [[String: Any]] else {
            throw EngineError("\(path) is not a compare report (a JSON object with rows and comparisons, from `compare --json-out`)")
        }
        do {
            try self.init(rows: rows.map(CompareRow.init(json:)), comparisons: comparisons.map(CompareRow.Comparison.init(json:)),
                          topOneOn: o["top1_on"] as? String ?? "test images")
        } catch let e as EngineError {
            throw EngineError("\(path) is not a compare report: \(e.message)")
        }
    }

    func markdown() -> String {
        var lines: [String] = []
        for block in [CompareEntry.Block.trainingFree, .fineTuned] where rows.contains(where: { $0.block == block && $0.method != "dense" }) {
            lines.append("### " + (block == .trainingFree ? "Training-free" : "Fine-tuned on the same budget (dense model for reference)"))
            lines.append("")
            lines.append("| method | top-1 % (\(topOneOn)) | GFLOPs (official GMACs) | images/s b1 | images/s b32 | speed-up b32 (FLOPs ratio) | probe mIoU % (dense probe) | probe mIoU % (own probe) | matched on |")
            lines.append("|---|---|---|---|---|---|---|---|---|")
            for r in rows where r.block == block || r.method == "dense" { lines.append(r.markdown) }
            lines.append("")
        }
        if !comparisons.isEmpty {
            lines.append("| a | b | matched on | top-1 a - b (points) | 95 % interval | McNemar p | |")
            lines.append("|---|---|---|---|---|---|---|")
            for cmp in comparisons { lines.append(cmp.markdown) }
        }
        return lines.joined(separator: "\n")
    }
}
