import Foundation

/// Accuracy against speed as a character chart: one marker per setting, a dotted line through
/// each method's settings in order of speed, training-free settings in lower case and fine-tuned
/// ones in upper case. Drawn into a `CellBuffer`, so the same chart goes to a terminal (its text)
/// and to a PNG (`ScreenSnapshot`). `compare --plot` draws it.
public struct AccuracySpeedChart: Sendable {
    public struct Point: Sendable, Equatable {
        public var speed: Double, top1: Double
        public init(speed: Double, top1: Double) { self.speed = speed; self.top1 = top1 }
    }

    /// One method in one block of the table (training-free or fine-tuned): its settings' points.
    public struct Series: Sendable {
        public var name: String
        public var marker: Character
        public var points: [Point]
        public init(name: String, marker: Character, points: [Point]) { self.name = name; self.marker = marker; self.points = points }
    }

    public var title: String
    public var series: [Series]

    public init(title: String, series: [Series]) { self.title = title; self.series = series }

    /// Columns left of the plot for the top-1 ticks, and rows under it for the speed ticks and label.
    static let left = 7, bottom = 2

    /// The plot's scales in a rectangle: where a speed and a top-1 land.
    struct Frame {
        let px: Int, py: Int, pw: Int, ph: Int
        let sLow: Double, sHigh: Double, aLow: Double, aHigh: Double
        func col(_ s: Double) -> Int { px + Int(((s - sLow) / (sHigh - sLow) * Double(pw - 1)).rounded()) }
        func row(_ a: Double) -> Int { py + ph - 1 - Int(((a - aLow) / (aHigh - aLow) * Double(ph - 1)).rounded()) }
    }

    func frame(x: Int, y: Int, width: Int, height: Int) -> Frame? {
        let px = x + Self.left, py = y + 1, pw = width - Self.left - 1, ph = height - 1 - Self.bottom
        guard pw >= 8, ph >= 4 else { return nil }
        let all = series.flatMap(\.points).filter { $0.speed.isFinite && $0.top1.isFinite }
        guard let s0 = all.map(\.speed).min(), let s1 = all.map(\.speed).max(),
              let a0 = all.map(\.top1).min(), let a1 = all.map(\.top1).max() else { return nil }
        // 5 % room around the points so none sits on an axis.
        let sPad = max((s1 - s0) * 0.05, 0.5), aPad = max((a1 - a0) * 0.05, 0.05)
        return Frame(px: px, py: py, pw: pw, ph: ph, sLow: s0 - sPad, sHigh: s1 + sPad, aLow: a0 - aPad, aHigh: a1 + aPad)
    }

    /// The cell a point is drawn in, for a chart drawn at (x, y, width, height).
    public func cell(of p: Point, x: Int, y: Int, width: Int, height: Int) -> (x: Int, y: Int)? {
        frame(x: x, y: y, width: width, height: height).map { ($0.col(p.speed), $0.row(p.top1)) }
    }

    /// The chart in the rectangle (x, y, width, height): title on its first row, then the plot.
    public func draw(into buf: inout CellBuffer, x: Int, y: Int, width: Int, height: Int) {
        buf.put(title, x: x, y: y, attrs: .bold, maxWidth: width)
        guard let f = frame(x: x, y: y, width: width, height: height) else { return }
        let px = f.px, py = f.py, pw = f.pw, ph = f.ph, sLow = f.sLow, sHigh = f.sHigh, aLow = f.aLow, aHigh = f.aHigh
        let col = f.col, row = f.row
        // Axes and ticks: top-1 at the top, middle and bottom rows, speed at both ends and the middle.
        for r in py..<(py + ph) { buf.put("│", x: px - 1, y: r, fg: Self.axis) }
        buf.put(String(repeating: "─", count: pw), x: px, y: py + ph, fg: Self.axis)
        buf.put("└", x: px - 1, y: py + ph, fg: Self.axis)
        for a in [aHigh, (aLow + aHigh) / 2, aLow] {
            buf.put(Self.pad(String(format: "%.1f", a), Self.left - 1), x: x, y: row(a), fg: Self.axis)
        }
        let ticks = [sLow, (sLow + sHigh) / 2, sHigh]
        for (i, s) in ticks.enumerated() {
            let text = String(format: "%.0f", s)
            let at = i == 0 ? col(s) : i == 1 ? col(s) - text.count / 2 : col(s) - text.count + 1
            buf.put(text, x: at, y: py + ph + 1, fg: Self.axis)
        }
        // Lines first, markers over them.
        for (k, s) in series.enumerated() {
            let colour = Self.colour(k)
            let pts = s.points.sorted { $0.speed < $1.speed }
            for (p, q) in zip(pts, pts.dropFirst()) {
                let c0 = col(p.speed), r0 = row(p.top1), c1 = col(q.speed), r1 = row(q.top1)
                let steps = max(abs(c1 - c0), abs(r1 - r0))
                guard steps > 1 else { continue }
                for i in 1..<steps {
                    let t = Double(i) / Double(steps)
                    let c = c0 + Int((Double(c1 - c0) * t).rounded()), r = r0 + Int((Double(r1 - r0) * t).rounded())
                    if buf[c, r].char == " " { buf[c, r] = Cell("·", fg: colour) }
                }
            }
        }
        // The last series first: where two points share a cell the earlier series' marker shows (the
        // reference, dense, comes first in a table; on the shipped comparison ToMe sat on it).
        for (k, s) in series.enumerated().reversed() {
            for p in s.points where p.speed.isFinite && p.top1.isFinite {
                buf[col(p.speed), row(p.top1)] = Cell(s.marker, fg: Self.colour(k), attrs: .bold)
            }
        }
    }

    /// Each marker and its method in the series' colour, wrapped to `width`, from row y down;
    /// returns the rows used (count them first with `legendRows`).
    @discardableResult
    public func drawLegend(into buf: inout CellBuffer, x: Int, y: Int, width: Int) -> Int {
        var cx = x, cy = y
        for (k, s) in series.enumerated() {
            let item = "\(s.marker) \(s.name)"
            if cx > x && cx + item.count > x + width { cx = x; cy += 1 }
            buf.put(item, x: cx, y: cy, fg: Self.colour(k))
            cx += item.count + 3
        }
        return series.isEmpty ? 0 : cy - y + 1
    }

    public func legendRows(width: Int) -> Int {
        var scratch = CellBuffer(width: width, height: 1)
        return drawLegend(into: &scratch, x: 0, y: 0, width: width)
    }

    static let axis = CellColor.rgb(RGB8(150, 150, 150))
    static func colour(_ k: Int) -> CellColor { .rgb(PatchOverlay.hues[k % PatchOverlay.hues.count].rgb8) }
    static func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
}
