/// Keys that arrive as raw escape sequences because the terminal's terminfo entry does not list them,
/// and mouse reports (the backend leaves those to this decoder, see `nc_enable_mouse`).
///
/// Why: ncurses decodes only the sequences TERM's entry names. A common mismatch (TERM=xterm-256color
/// inside tmux or screen, PuTTY's Home/End as ESC [ 1 ~ / ESC [ 4 ~) delivers Home as ESC, '[', '1', '~';
/// read one byte at a time, the '[' would raise the prune rate. The backend collects the bytes after
/// ESC and asks this decoder: a known CSI/SS3 key becomes that key, an unknown one is swallowed, and
/// Escape followed by ordinary keys stays Escape plus those keys.
public enum EscapeSequence {
    /// Whether a sequence that started with ESC, followed by `bytes`, is complete: a lone ESC never
    /// is (the caller stops when no more input is pending); CSI (`[`) and SS3 (`O`) end at a final
    /// byte in 0x40...0x7E after their introducer.
    /// An X10 mouse report (`[M` and three bytes: button, column, row, each plus 32) ends after its bytes.
    public static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first else { return false }
        guard first == UInt8(ascii: "[") || first == UInt8(ascii: "O") else { return true }
        guard bytes.count >= 2, let last = bytes.last else { return false }
        if isX10Mouse(bytes) { return bytes.count >= 5 }
        return (0x40...0x7E).contains(last)
    }

    static func isX10Mouse(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == UInt8(ascii: "[") && bytes[1] == UInt8(ascii: "M")
    }

    /// Whether the bytes after ESC are a complete CSI or SS3 sequence (a key the terminal sent), as
    /// opposed to Escape followed by ordinary keys or an unfinished sequence.
    public static func isSequence(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, first == UInt8(ascii: "[") || first == UInt8(ascii: "O") else { return false }
        return isComplete(bytes)
    }

    /// The key the bytes after ESC stand for. Empty: the Escape key itself. A sequence this does not
    /// know (function keys, modified arrows, focus events, ...): nil, so it does nothing.
    /// A mouse report is a click (0-based cell) for a left-button press, with or without Shift, Alt or
    /// Ctrl, and nothing for the rest (releases, other buttons, the wheel, motion).
    public static func decode(_ bytes: [UInt8]) -> ExplorerState.Key? {
        if bytes.isEmpty { return .escape }
        if isX10Mouse(bytes) {
            guard bytes.count == 5 else { return nil }
            let (b, x, y) = (Int(bytes[2]) - 32, Int(bytes[3]) - 33, Int(bytes[4]) - 33)
            return isLeftPress(button: b) && x >= 0 && y >= 0 ? .click(x: x, y: y) : nil
        }
        if bytes.count >= 2, bytes[1] == UInt8(ascii: "<") { return decodeSGRMouse(bytes) }
        let s = String(decoding: bytes, as: UTF8.self)
        switch s {
        case "[A", "OA": return .up
        case "[B", "OB": return .down
        case "[C", "OC": return .right
        case "[D", "OD": return .left
        case "[H", "OH", "[1~", "[7~": return .home
        case "[F", "OF", "[4~", "[8~": return .end
        case "[1;2A", "[a": return .shiftUp
        case "[1;2B", "[b": return .shiftDown
        case "[1;2C", "[c": return .shiftRight
        case "[1;2D", "[d": return .shiftLeft
        default: return nil
        }
    }

    /// `[<button;column;row` then `M` (press) or `m` (release), the numbers in decimal, 1-based.
    static func decodeSGRMouse(_ bytes: [UInt8]) -> ExplorerState.Key? {
        guard bytes.last == UInt8(ascii: "M") else { return nil }
        let fields = String(decoding: bytes.dropFirst(2).dropLast(), as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false)
        guard fields.count == 3, let b = Int(fields[0]), let x = Int(fields[1]), let y = Int(fields[2]), x >= 1, y >= 1 else { return nil }
        return isLeftPress(button: b) ? .click(x: x - 1, y: y - 1) : nil
    }

    /// The button code's low two bits say which button (0: left, 3: release in X10); 4, 8 and 16 are
    /// Shift, Alt and Ctrl; 32 motion, 64 and 128 the wheel and extra buttons.
    static func isLeftPress(button b: Int) -> Bool { b >= 0 && b & ~(4 | 8 | 16) == 0 }
}
