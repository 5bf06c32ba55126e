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

    /// Mouse reports as xterm (SGR, mode 1006: 1-based decimal) and screen or tmux's terminfo (X10: three
    /// bytes of value + 32) send them: a left press is a click at the 0-based cell; releases, other
    /// buttons, the wheel and motion do nothing, and a report is one sequence however its numbers end.
    func testMouseReports() {
        XCTAssertEqual(EscapeSequence.decode(bytes("[<0;10;3M")), .click(x: 9, y: 2))
        XCTAssertEqual(EscapeSequence.decode(bytes("[<4;1;1M")), .click(x: 0, y: 0), "Shift+click")
        XCTAssertEqual(EscapeSequence.decode(bytes("[<0;250;70M")), .click(x: 249, y: 69))
        for s in ["[<0;10;3m", "[<2;10;3M", "[<1;10;3M", "[<64;10;3M", "[<65;10;3M", "[<32;10;3M", "[<0;0;3M", "[<0;10M", "[<0;;3M", "[<x;1;1M"] {
            XCTAssertTrue(EscapeSequence.isSequence(bytes(s)), s)
            XCTAssertNil(EscapeSequence.decode(bytes(s)), s)
        }
        XCTAssertFalse(EscapeSequence.isComplete(bytes("[<0;10;")), "the digits and ; are not final bytes")
        let x10 = { (b: Int, x: Int, y: Int) in [UInt8(ascii: "["), UInt8(ascii: "M"), UInt8(b + 32), UInt8(x + 32), UInt8(y + 32)] }
        XCTAssertFalse(EscapeSequence.isComplete(Array(x10(0, 10, 3).prefix(4))), "X10: [M and three bytes")
        XCTAssertTrue(EscapeSequence.isComplete(x10(0, 10, 3)))
        XCTAssertEqual(EscapeSequence.decode(x10(0, 10, 3)), .click(x: 9, y: 2))
        XCTAssertEqual(EscapeSequence.decode(x10(0, 200, 60)), .click(x: 199, y: 59), "columns past 95 are bytes over 127")
        XCTAssertFalse(EscapeSequence.isComplete(Array(x10(45, 77, 3).prefix(4))), "an M or m among the three bytes does not end it early")
        for (b, what) in [(3, "release"), (1, "middle"), (2, "right"), (64, "wheel up"), (65, "wheel down"), (32, "drag")] {
            XCTAssertNil(EscapeSequence.decode(x10(b, 10, 3)), what)
        }
    }
}
