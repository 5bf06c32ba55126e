import XCTest
@testable import Explorer

/// The accuracy-against-speed chart: every point's marker where the scales put it, faster to the
/// right and more accurate higher up, dots between a method's settings, the ticks spanning the
/// points, a legend naming every series, and nothing drawn where the area is too small.
final class AccuracySpeedChartTests: XCTestCase {
    let chart = AccuracySpeedChart(title: "top-1 against images/s", series: [
        .init(name: "dense", marker: "*", points: [.init(speed: 100, top1: 91.5)]),
        .init(name: "ToMe", marker: "t", points: [.init(speed: 130, top1: 91.2), .init(speed: 180, top1: 90.4)]),
        .init(name: "EViT", marker: "e", points: [.init(speed: 150, top1: 89.4), .init(speed: 230, top1: 79.6)]),
    ])

    func testMarkersLandOnTheirScales() throws {
        var buf = CellBuffer(width: 80, height: 20)
        chart.draw(into: &buf, x: 0, y: 0, width: 80, height: 20)
        var cells: [(x: Int, y: Int)] = []
        for s in chart.series {
            for p in s.points {
                let c = try XCTUnwrap(chart.cell(of: p, x: 0, y: 0, width: 80, height: 20))
                XCTAssertEqual(buf[c.x, c.y].char, s.marker, "\(s.name) at \(p)")
                cells.append(c)
            }
        }
        // dense, ToMe 130, ToMe 180, EViT 150, EViT 230: speed orders the columns, top-1 the rows.
        XCTAssertLessThan(cells[0].x, cells[1].x); XCTAssertLessThan(cells[1].x, cells[3].x); XCTAssertLessThan(cells[3].x, cells[2].x)
        XCTAssertLessThan(cells[2].x, cells[4].x)
        XCTAssertLessThan(cells[0].y, cells[3].y); XCTAssertLessThan(cells[3].y, cells[4].y)
        XCTAssertLessThanOrEqual(cells[1].y, cells[2].y)
        // Inside the plot, clear of the axes.
        for c in cells { XCTAssertGreaterThan(c.x, AccuracySpeedChart.left - 1); XCTAssertLessThan(c.y, 20 - AccuracySpeedChart.bottom) }
        // EViT's two settings are joined by dots.
        let a = cells[3], b = cells[4]
        let between = (a.x + 1..<b.x).filter { x in (0..<20).contains { buf[x, $0].char == "·" } }
        XCTAssertGreaterThan(between.count, (b.x - a.x) / 2)
        // Ticks: the lowest and highest top-1 bracket the points, the speed ticks too.
        let text = buf.text
        XCTAssertTrue(text.contains("top-1 against images/s"))
        let yTicks = (0..<20).compactMap { Double(buf.line($0).prefix(6).trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(yTicks.count, 3)
        XCTAssertGreaterThan(yTicks.max() ?? 0, 91.5); XCTAssertLessThan(yTicks.min() ?? 100, 79.6)
        let xTicks = buf.line(19).split(separator: " ").compactMap { Double($0) }
        XCTAssertEqual(xTicks.count, 3)
        XCTAssertLessThan(xTicks.first ?? 1000, 100); XCTAssertGreaterThan(xTicks.last ?? 0, 230)
    }

    /// Two points in one cell: the earlier series' marker is drawn (dense, the reference, stays visible).
    func testEarlierSeriesWinsASharedCell() throws {
        let c = AccuracySpeedChart(title: "t", series: [
            .init(name: "dense", marker: "*", points: [.init(speed: 100, top1: 91.5)]),
            .init(name: "ToMe", marker: "t", points: [.init(speed: 100.01, top1: 91.5), .init(speed: 200, top1: 85)]),
        ])
        var buf = CellBuffer(width: 60, height: 16)
        c.draw(into: &buf, x: 0, y: 0, width: 60, height: 16)
        let dense = try XCTUnwrap(c.cell(of: .init(speed: 100, top1: 91.5), x: 0, y: 0, width: 60, height: 16))
        let tome = try XCTUnwrap(c.cell(of: .init(speed: 100.01, top1: 91.5), x: 0, y: 0, width: 60, height: 16))
        XCTAssertEqual(dense.x, tome.x); XCTAssertEqual(dense.y, tome.y)
        XCTAssertEqual(buf[dense.x, dense.y].char, "*")
    }

    func testLegendNamesEverySeriesAndWraps() {
        var buf = CellBuffer(width: 20, height: 4)
        let rows = chart.drawLegend(into: &buf, x: 0, y: 0, width: 20)
        XCTAssertEqual(rows, chart.legendRows(width: 20))
        XCTAssertGreaterThanOrEqual(rows, 2)
        for name in ["* dense", "t ToMe", "e EViT"] { XCTAssertTrue(buf.text.contains(name), buf.text) }
    }

    func testTooSmallDrawsOnlyTheTitle() {
        var buf = CellBuffer(width: 12, height: 4)
        chart.draw(into: &buf, x: 0, y: 0, width: 12, height: 4)
        XCTAssertTrue(buf.line(0).hasPrefix("top-1 agains"))
        XCTAssertTrue((1..<4).allSatisfy { buf.line($0).allSatisfy { $0 == " " } })
        XCTAssertNil(chart.cell(of: .init(speed: 1, top1: 1), x: 0, y: 0, width: 12, height: 4))
        XCTAssertNil(AccuracySpeedChart(title: "", series: []).cell(of: .init(speed: 1, top1: 1), x: 0, y: 0, width: 80, height: 20))
    }
}
