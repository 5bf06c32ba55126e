import Foundation
import XCTest
@testable import Engine

/// Test fixtures live in Tests/Fixtures (copied from the reference implementations; see its README).
enum Fixtures {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    static func file(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: path(name)) }
}

/// max |a - b| over two equally long arrays.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsDiff: \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// Asserts the message of a thrown EngineError contains every fragment.
func assertThrowsMessage<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                            file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let msg = "\(error)"
        XCTAssertFalse(msg.contains("\n"), "error message should be one line: \(msg)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(msg.contains(f), "error \"\(msg)\" should mention \"\(f)\"", file: file, line: line)
        }
    }
}
