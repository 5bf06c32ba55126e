import Foundation

/// `compare`'s result: the scored rows and the paired tests, as one JSON object and as Markdown
/// (one table per block, the dense row heading both, then the paired tests).
struct CompareReport {
    var rows: [CompareRow]
    var comparisons: [CompareRow.Comparison]

    var json: [String: Any] { ["rows": rows.map(\.json), "comparisons": comparisons.map(\.json)] }

    /// `topOneOn` says what top-1 is measured on ("10000 test images").
    func markdown(topOneOn: String) -> String {
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
