import XCTest
@testable import Explorer

/// The demo's script and player: what it walks through, its timing, and handing over on a key.
final class DemoScriptTests: XCTestCase {
    func testScriptWalksEveryLayerAndComesBack() {
        let script = DemoScript(depth: 12, imageCount: 3, sources: 2, methods: 1)
        var s = ExplorerState(depth: 12, imageCount: 3, hasCalibratedRanks: true)
        var layers = Set<Int>(), keeps = Set<Double>(), prunes = Set<Double>(), views = Set<String>(), sources = Set<String>()
        var recoveries = Set<String>(), layouts = Set<String>()
        for step in script.steps {
            _ = s.handle(step.key)
            layouts.insert(s.layout.rawValue)
            XCTAssertFalse(step.caption.isEmpty)
            layers.insert(s.layer); keeps.insert(s.keep); prunes.insert(s.prune); views.insert(s.view.rawValue)
            sources.insert(s.scoreSource.rawValue); recoveries.insert(s.recovery.rawValue)
        }
        XCTAssertEqual(recoveries, ["update", "official"], "both recoveries are shown")
        XCTAssertEqual(layouts, ["one layer", "all layers"], "one method: no methods layout")
        XCTAssertEqual(s.layout, .layer)
        XCTAssertEqual(s.recovery, .update)
        XCTAssertEqual(layers, Set(0..<12), "every layer is shown")
        XCTAssertEqual(keeps, [0.5, 0.55, 0.6, 0.65, 0.7], "keep sweeps down and back")
        XCTAssertEqual(prunes, [0.1, 0.15, 0.2])
        XCTAssertEqual(views.count, ExplorerState.View.allCases.count, "every view")
        XCTAssertEqual(sources, ["calibrated", "image"])
        // One loop ends where it began except for the image, so the next loop shows the next image.
        XCTAssertEqual(s.image, 1); XCTAssertEqual(s.layer, 0); XCTAssertEqual(s.keep, 0.7); XCTAssertEqual(s.prune, 0.1)
        XCTAssertEqual(s.view, .states); XCTAssertEqual(s.scoreSource, .calibrated)
    }

    func testWithSeveralMethodsTheMethodsLayoutIsShown() {
        let script = DemoScript(depth: 3, imageCount: 1, sources: 1, methods: ExplorerState.Method.allCases.count)
        var s = ExplorerState(depth: 3, imageCount: 1, hasCalibratedRanks: false)
        var layouts = Set<ExplorerState.Layout>()
        for step in script.steps { _ = s.handle(step.key); layouts.insert(s.layout) }
        XCTAssertEqual(layouts, Set(ExplorerState.Layout.allCases))
        XCTAssertEqual(s.layout, .layer)
        XCTAssertEqual(s.method, .pruneMerge)
    }

    func testSingleImageSingleSourceSkipsThoseSteps() {
        let script = DemoScript(depth: 3, imageCount: 1, sources: 1, methods: 1)
        XCTAssertFalse(script.steps.contains { $0.key == .char("n") || $0.key == .char("s") || $0.key == .char("m") })
    }

    func testPlayerTimingBusyAndPause() {
        var p = DemoPlayer(script: DemoScript(depth: 3, imageCount: 1, sources: 1, methods: 1), interval: 0.5, start: 100)
        XCTAssertNil(p.tick(now: 100.4, busy: false), "not before the interval")
        XCTAssertNil(p.tick(now: 100.6, busy: true), "never while a recompute runs")
        XCTAssertEqual(p.tick(now: 100.6, busy: false), .home)
        XCTAssertNil(p.tick(now: 100.9, busy: false))
        XCTAssertEqual(p.tick(now: 101.2, busy: false), .right)
        XCTAssertTrue(p.caption.contains("layer 2"))
        p.pause()
        XCTAssertNil(p.tick(now: 200, busy: false), "paused: the user has the controls")
        XCTAssertNil(p.shownCaption, "paused: the status line is the explorer's again")
        // The script loops.
        var q = DemoPlayer(script: DemoScript(depth: 2, imageCount: 1, sources: 1, methods: 1), interval: 1, start: 0)
        let n = q.script.steps.count
        var keys: [ExplorerState.Key] = []
        for t in 1...(2 * n) { if let k = q.tick(now: Double(t), busy: false) { keys.append(k) } }
        XCTAssertEqual(keys.count, 2 * n)
        XCTAssertEqual(Array(keys[0..<n]), Array(keys[n...]))
    }

    func testWithAPMFileThePlanSwitchesToScoresBeforeTheSweeps() {
        var s = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: true, hasFilePlan: true)
        XCTAssertEqual(s.scoreSource, .file)
        let script = DemoScript(depth: 4, imageCount: 1, sources: s.sources.count, methods: 1, startsOnFilePlan: true)
        var keeps = Set<Double>()
        for step in script.steps { _ = s.handle(step.key); keeps.insert(s.keep) }
        XCTAssertEqual(keeps, [0.5, 0.55, 0.6, 0.65, 0.7], "the keep sweep really changes keep")
        XCTAssertEqual(s.scoreSource, .file, "the loop ends on the file's plan again")
    }
}
