import Foundation
import XCTest
@testable import Engine

/// A writer killed before its rename leaves `<path>.tmp-<pid>`; the next write to the path removes
/// the files of processes that are gone and keeps a live writer's.
final class AtomicFileTests: XCTestCase {
    func testAbandonedTemporariesAreRemovedLiveOnesKept() throws {
        let dir = NSTemporaryDirectory() + "tokenscope-atomic-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/out.bin"
        // A pid that has ended: a child that exited and was reaped.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = target + ".tmp-\(p.processIdentifier)", live = target + ".tmp-\(getppid())", other = dir + "/other.bin.tmp-\(p.processIdentifier)"
        for f in [dead, live, other] { XCTAssertTrue(FileManager.default.createFile(atPath: f, contents: Data("partial".utf8))) }
        try AtomicFile.write(Array("complete".utf8), to: target)
        XCTAssertEqual(FileManager.default.contents(atPath: target), Data("complete".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead), "the ended writer's file is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a running process's file is kept")
        XCTAssertTrue(FileManager.default.fileExists(atPath: other), "another path's files are not touched")
    }
}
