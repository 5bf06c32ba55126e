import XCTest
@testable import Explorer

/// The key reducer: each key's effect on the state and the effects it asks for.
final class ExplorerStateTests: XCTestCase {
    func state(ranks: Bool = true) -> ExplorerState { ExplorerState(depth: 12, imageCount: 3, hasCalibratedRanks: ranks) }

    /// Every status message the keys can produce is read whole on the status line of an 80-column
    /// screen (78 characters), in every method, with and without ranks and a PM file.
    func testStatusMessagesFitEightyColumns() {
        let keys: [ExplorerState.Key] = [.up, .down, .char("["), .char("]"), .char("s"), .char("e"), .char("r"), .char("v"),
                                         .char("n"), .char("p"), .home, .end, .left, .right, .char("m"), .char("g"), .char("u")]
        for (ranks, file) in [(true, false), (false, false), (true, true), (false, true)] {
            var s = ExplorerState(depth: 12, imageCount: 3, hasCalibratedRanks: ranks, hasFilePlan: file)
            for _ in 0..<3 {
                for k in keys {
                    _ = s.handle(k)
                    XCTAssertLessThanOrEqual(s.status.count, 78, "ranks \(ranks) file \(file) \(k): \(s.status)")
                }
            }
        }
    }

    /// On a screen too small for the view only the size message shows: q quits even with help open
    /// (which cannot be seen there), and no other key changes anything.
    func testTooSmallScreenTakesOnlyQ() {
        var s = state()
        _ = s.handle(.char("?"))
        XCTAssertTrue(s.showHelp)
        let before = s
        for k: ExplorerState.Key in [.right, .up, .char("n"), .char("m"), .char("3"), .char("?"), .escape, .char("r"), .select(patch: 4)] {
            XCTAssertEqual(s.handle(k, screenFits: false), [], "\(k)")
        }
        XCTAssertEqual(s, before, "nothing changed out of sight")
        XCTAssertEqual(s.handle(.resize, screenFits: false), [.redraw])
        _ = s.handle(.char("q"), screenFits: false)
        XCTAssertTrue(s.quit, "q quits from a too-small screen with help open")
        var fitting = state()
        _ = fitting.handle(.char("?"))
        _ = fitting.handle(.char("q"))
        XCTAssertFalse(fitting.quit, "where help is seen, q closes it")
        XCTAssertFalse(fitting.showHelp)
    }

    func testLayerKeys() {
        var s = state()
        XCTAssertEqual(s.handle(.left), [.redraw]); XCTAssertEqual(s.layer, 0, "clamped at the first layer")
        _ = s.handle(.right); _ = s.handle(.char("l")); XCTAssertEqual(s.layer, 2)
        _ = s.handle(.char("h")); XCTAssertEqual(s.layer, 1)
        _ = s.handle(.end); XCTAssertEqual(s.layer, 11)
        _ = s.handle(.right); XCTAssertEqual(s.layer, 11, "clamped at the last layer")
        _ = s.handle(.home); XCTAssertEqual(s.layer, 0)
    }

    func testKeepAndPruneStayConsistent() {
        var s = state()
        XCTAssertEqual(s.handle(.up), [.recompute]); XCTAssertEqual(s.keep, 0.75, accuracy: 1e-9)
        _ = s.handle(.char("j")); _ = s.handle(.down); XCTAssertEqual(s.keep, 0.65, accuracy: 1e-9)
        XCTAssertEqual(s.handle(.char("[")), [.recompute]); XCTAssertEqual(s.prune, 0.15, accuracy: 1e-9)
        _ = s.handle(.char("]")); _ = s.handle(.char("]")); _ = s.handle(.char("]"))
        XCTAssertEqual(s.prune, 0, accuracy: 1e-9)
        XCTAssertEqual(s.handle(.char("]")), [], "no recompute when nothing changes")
        for _ in 0..<30 { _ = s.handle(.up) }
        XCTAssertEqual(s.keep, 0.95, accuracy: 1e-9)
        for _ in 0..<30 { _ = s.handle(.char("[")) }
        XCTAssertLessThanOrEqual(s.keep + s.prune, 1 + 1e-9)
        XCTAssertEqual(s.prune, 0.05, accuracy: 1e-9)
        for _ in 0..<30 { _ = s.handle(.down) }
        XCTAssertEqual(s.keep, 0.05, accuracy: 1e-9)
    }

    func testViewsSourcesImagesHelpResetQuit() {
        var s = state()
        XCTAssertEqual(s.view, .states)
        _ = s.handle(.tab); XCTAssertEqual(s.view, .scores)
        _ = s.handle(.char("v")); _ = s.handle(.char("v")); XCTAssertEqual(s.view, .restoreError)
        _ = s.handle(.char("v")); XCTAssertEqual(s.view, .states)
        XCTAssertEqual(s.handle(.char("s")), [.recompute]); XCTAssertEqual(s.scoreSource, .image)
        _ = s.handle(.char("p")); XCTAssertEqual(s.image, 2, "wraps backwards")
        _ = s.handle(.char("n")); XCTAssertEqual(s.image, 0)
        XCTAssertEqual(s.handle(.char("e")), [.export])
        _ = s.handle(.char("?")); XCTAssertTrue(s.showHelp)
        XCTAssertEqual(s.handle(.right), [], "keys are inert under the help overlay")
        XCTAssertEqual(s.layer, 0)
        _ = s.handle(.escape); XCTAssertFalse(s.showHelp)
        _ = s.handle(.up); _ = s.handle(.right)
        XCTAssertEqual(s.handle(.char("r")), [.recompute])
        XCTAssertEqual(s.keep, 0.7, accuracy: 1e-9); XCTAssertEqual(s.layer, 0); XCTAssertEqual(s.scoreSource, .calibrated)
        XCTAssertEqual(s.handle(.char("q")), []); XCTAssertTrue(s.quit)
    }

    func testWithoutCalibratedRanksTheImageIsTheSource() {
        var s = state(ranks: false)
        XCTAssertEqual(s.scoreSource, .image)
        XCTAssertEqual(s.handle(.char("s")), [.redraw])
        XCTAssertEqual(s.scoreSource, .image)
        XCTAssertTrue(s.status.contains("no calibrated ranks"))
    }

    func testFilePlanSourceFreezesKeepAndPrune() {
        var s = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: true, hasFilePlan: true)
        XCTAssertEqual(s.scoreSource, .file)
        XCTAssertEqual(s.handle(.up), [.redraw])
        XCTAssertEqual(s.keep, 0.7, accuracy: 1e-9)
        XCTAssertTrue(s.status.contains("PM file"))
        XCTAssertEqual(s.handle(.char("s")), [.recompute]); XCTAssertEqual(s.scoreSource, .calibrated)
        XCTAssertEqual(s.handle(.up), [.recompute]); XCTAssertEqual(s.keep, 0.75, accuracy: 1e-9)
        _ = s.handle(.char("s")); XCTAssertEqual(s.scoreSource, .image)
        _ = s.handle(.char("s")); XCTAssertEqual(s.scoreSource, .file, "s cycles file -> calibrated -> image")
        _ = s.handle(.char("r")); XCTAssertEqual(s.scoreSource, .file)
    }
}

extension ExplorerStateTests {
    func testMethodKeyCyclesAndPruneKeysAreForPruneAndMergeOnly() {
        var s = state()
        XCTAssertEqual(s.handle(.char("m")), [.recompute]); XCTAssertEqual(s.method, .tome)
        XCTAssertEqual(s.handle(.char("[")), [.redraw], "ToMe has no prune rate")
        XCTAssertTrue(s.status.contains("Prune and Merge"))
        XCTAssertEqual(s.prune, 0.1)
        s.methodArguments.r = [5]
        XCTAssertEqual(s.handle(.up), [.recompute]); XCTAssertNil(s.methodArguments.r, "the keep keys take over from --r")
        _ = s.handle(.char("m")); XCTAssertEqual(s.method, .evit)
        _ = s.handle(.char("m")); XCTAssertEqual(s.method, .pitome)
        _ = s.handle(.char("m")); XCTAssertEqual(s.method, .diffrate)
        _ = s.handle(.char("m")); XCTAssertEqual(s.method, .pruneMerge)
        _ = s.handle(.char("m")); _ = s.handle(.char("r"))
        XCTAssertEqual(s.method, .pruneMerge, "reset goes back to Prune and Merge")
    }

    func testGroupingAndRecoveryKeys() {
        var s = ExplorerState(depth: 12, imageCount: 3, hasCalibratedRanks: true, grouping: .official)
        XCTAssertEqual(s.grouping, .official, "--grouping sets the start")
        XCTAssertEqual(s.handle(.char("g")), [.recompute]); XCTAssertEqual(s.grouping, .grid)
        XCTAssertEqual(s.handle(.char("u")), [.recompute]); XCTAssertEqual(s.recovery, .official)
        XCTAssertTrue(s.status.contains("official"))
        _ = s.handle(.char("r"))
        XCTAssertEqual(s.grouping, .official, "reset goes back to the start"); XCTAssertEqual(s.recovery, .update)
        _ = s.handle(.char("m"))
        XCTAssertEqual(s.handle(.char("u")), [.redraw], "ToMe has no recovery")
        XCTAssertEqual(s.recovery, .update)
        var f = ExplorerState(depth: 4, imageCount: 1, hasCalibratedRanks: true, hasFilePlan: true)
        XCTAssertEqual(f.handle(.char("g")), [.redraw], "a PM file's plan is fixed")
        XCTAssertEqual(f.grouping, .grid)
        XCTAssertTrue(f.status.contains("PM file"))
    }
}

/// The patch cursor: a keyboard way to pick a patch.
extension ExplorerStateTests {
    func testPatchCursorStartsInTheMiddleMovesAndStopsAtEdges() {
        var s = ExplorerState(depth: 2, grid: 4, imageCount: 1, hasCalibratedRanks: true)
        XCTAssertEqual(s.handle(.char("L")), [.redraw])
        XCTAssertEqual(s.selectedPatch, 2 * 4 + 2, "first move: the middle patch")
        _ = s.handle(.shiftRight)
        _ = s.handle(.shiftRight)
        XCTAssertEqual(s.selectedPatch, 2 * 4 + 3, "stops at the right edge")
        _ = s.handle(.char("K")); _ = s.handle(.shiftUp); _ = s.handle(.shiftUp)
        XCTAssertEqual(s.selectedPatch, 3, "stops at the top")
        _ = s.handle(.char("H")); _ = s.handle(.shiftLeft)
        XCTAssertEqual(s.selectedPatch, 1)
        _ = s.handle(.char("J")); _ = s.handle(.shiftDown)
        XCTAssertEqual(s.selectedPatch, 2 * 4 + 1)
        XCTAssertEqual(s.layer, 0, "the cursor does not move the layer")
        _ = s.handle(.escape)
        XCTAssertNil(s.selectedPatch)
        var none = ExplorerState(depth: 2, imageCount: 1, hasCalibratedRanks: true)
        XCTAssertEqual(none.handle(.char("L")), [])
        XCTAssertNil(none.selectedPatch)
    }

    func testLayoutKeys() {
        var s = ExplorerState(depth: 2, grid: 4, imageCount: 1, hasCalibratedRanks: true)
        XCTAssertEqual(s.handle(.char("2")), [.redraw])
        XCTAssertEqual(s.layout, .strip)
        XCTAssertEqual(s.handle(.char("3")), [.recompute])
        XCTAssertEqual(s.layout, .methods)
        XCTAssertEqual(s.handle(.char("1")), [.redraw])
        XCTAssertEqual(s.layout, .layer)
        _ = s.handle(.char("3"))
        _ = s.handle(.char("r"))
        XCTAssertEqual(s.layout, .layer, "reset")
    }
}
