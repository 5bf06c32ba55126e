import Compression
import Engine
import Explorer
import Foundation

/// `compare --plot`: top-1 against images/s at batch 32 and at batch 1, one series per method and
/// block (training-free in lower case, fine-tuned in upper case, dense `*`), as a PNG or as text.
enum ComparePlot {
    /// The series of a table: rows grouped by method (the name before the first `-`) and by
    /// whether they are fine-tuned, in the table's order.
    static func series(_ rows: [CompareRow], speed: (CompareRow) -> Double) -> [AccuracySpeedChart.Series] {
        var order: [String] = [], points: [String: [AccuracySpeedChart.Point]] = [:], markers: [String: Character] = [:]
        var used = Set<Character>(["*"])
        for r in rows {
            guard let top1 = r.top1 else { continue }
            let id = String(r.method.prefix { $0 != "-" }), tuned = r.method.hasSuffix("-finetuned")
            let key = id + (tuned ? " fine-tuned" : "")
            if points[key] == nil {
                order.append(key)
                if id == Dense.id {
                    markers[key] = "*"
                } else {
                    let letter = markers.first { $0.key.hasPrefix(id + " ") || $0.key == id }?.value.lowercased().first
                        ?? id.first { !used.contains($0) } ?? "?"
                    used.insert(letter)
                    markers[key] = tuned ? Character(letter.uppercased()) : letter
                }
            }
            points[key, default: []].append(.init(speed: speed(r), top1: top1))
        }
        return order.map { key in
            let id = String(key.prefix { $0 != " " })
            let title = MethodRegistry.method(id: id)?.title ?? id
            return AccuracySpeedChart.Series(name: title + (key.hasSuffix("fine-tuned") ? ", fine-tuned" : ""),
                                             marker: markers[key] ?? "?", points: points[key] ?? [])
        }
    }

    /// Both panels and the legend: side by side at `width` >= 120, else one above the other.
    static func draw(_ rows: [CompareRow], width: Int, panelHeight: Int) -> CellBuffer {
        let b32 = AccuracySpeedChart(title: "top-1 % against images/s, batch 32", series: series(rows) { $0.imagesPerSecondB32 })
        let b1 = AccuracySpeedChart(title: "top-1 % against images/s, batch 1", series: series(rows) { $0.imagesPerSecondB1 })
        let side = width >= 120
        let legendRows = b32.legendRows(width: width)
        let height = (side ? panelHeight : 2 * panelHeight + 1) + 1 + legendRows
        var buf = CellBuffer(width: width, height: height)
        if side {
            b32.draw(into: &buf, x: 0, y: 0, width: width / 2 - 1, height: panelHeight)
            b1.draw(into: &buf, x: width / 2 + 1, y: 0, width: width - width / 2 - 1, height: panelHeight)
        } else {
            b32.draw(into: &buf, x: 0, y: 0, width: width, height: panelHeight)
            b1.draw(into: &buf, x: 0, y: panelHeight + 1, width: width, height: panelHeight)
        }
        b32.drawLegend(into: &buf, x: 0, y: height - legendRows, width: width)
        return buf
    }

    /// "-": the text chart on stdout (80 columns); else a PNG written atomically.
    static func write(_ rows: [CompareRow], to path: String) throws {
        if path == "-" {
            print(draw(rows, width: 80, panelHeight: 18).text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n"))
            return
        }
        try PNGCodec.write(ScreenSnapshot.render(draw(rows, width: 130, panelHeight: 28)), to: path)
    }
}
