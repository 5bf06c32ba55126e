import XCTest
@testable import Explorer

/// Raw escape sequences the terminfo entry did not decode: which are complete, and what they mean.
final class EscapeSequenceTests: XCTestCase {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testCompletion() {
        XCTAssertFalse(EscapeSequence.isComplete([]), "a lone ESC waits for what follows")
        XCTAssertFalse(EscapeSequence.isComplete(bytes("[")))
        XCTAssertFalse(EscapeSequence.isComplete(bytes("[1")))
        XCTAssertFalse(EscapeSequence.isComplete(bytes("[1;5")), "parameters and separators are not final bytes")
        XCTAssertTrue(EscapeSequence.isComplete(bytes("[4~")))
        XCTAssertTrue(EscapeSequence.isComplete(bytes("[1;5C")))
        XCTAssertTrue(EscapeSequence.isComplete(bytes("OF")))
        XCTAssertTrue(EscapeSequence.isComplete(bytes("x")), "Alt+x is two bytes")
    }

    /// Home and End in every spelling terminals use (xterm normal and application mode, VT220/PuTTY,
    /// rxvt), the arrows, and the rest swallowed rather than read as separate keys.
    func testDecoding() {
        for s in ["[H", "OH", "[1~", "[7~"] { XCTAssertEqual(EscapeSequence.decode(bytes(s)), .home, s) }
        for s in ["[F", "OF", "[4~", "[8~"] { XCTAssertEqual(EscapeSequence.decode(bytes(s)), .end, s) }
        XCTAssertEqual(EscapeSequence.decode(bytes("[A")), .up)
        XCTAssertEqual(EscapeSequence.decode(bytes("OB")), .down)
        XCTAssertEqual(EscapeSequence.decode(bytes("[C")), .right)
        XCTAssertEqual(EscapeSequence.decode(bytes("OD")), .left)
        XCTAssertEqual(EscapeSequence.decode([]), .escape, "Escape pressed alone")
        // Shift+arrows (xterm's modifier 2; rxvt's lower-case finals) move the patch cursor.
        for (s, k) in [("[1;2A", ExplorerState.Key.shiftUp), ("[1;2B", .shiftDown), ("[1;2C", .shiftRight), ("[1;2D", .shiftLeft),
                       ("[a", .shiftUp), ("[d", .shiftLeft)] {
            XCTAssertEqual(EscapeSequence.decode(bytes(s)), k, s)
        }
        for s in ["[15~", "[1;5C", "[I"] { XCTAssertNil(EscapeSequence.decode(bytes(s)), s) }
    }

    /// Escape then a key typed quickly (or an unfinished sequence) is not a sequence: the backend
    /// replays the bytes as keys after the Escape.
    func testWhatIsASequence() {
        for s in ["[4~", "OF", "[1;5C", "[15~"] { XCTAssertTrue(EscapeSequence.isSequence(bytes(s)), s) }
        for s in ["", "n", "q", "[", "[1", "O"] { XCTAssertFalse(EscapeSequence.isSequence(bytes(s)), s) }
    }
}
