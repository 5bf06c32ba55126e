/// Keys that arrive as raw escape sequences because the terminal's terminfo entry does not list them.
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
    public static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first else { return false }
        guard first == UInt8(ascii: "[") || first == UInt8(ascii: "O") else { return true }
        guard bytes.count >= 2, let last = bytes.last else { return false }
        return (0x40...0x7E).contains(last)
    }

    /// Whether the bytes after ESC are a complete CSI or SS3 sequence (a key the terminal sent), as
    /// opposed to Escape followed by ordinary keys or an unfinished sequence.
    public static func isSequence(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, first == UInt8(ascii: "[") || first == UInt8(ascii: "O") else { return false }
        return isComplete(bytes)
    }

    /// The key the bytes after ESC stand for. Empty: the Escape key itself. A sequence this does not
    /// know (function keys, modified arrows, focus events, ...): nil, so it does nothing.
    public static func decode(_ bytes: [UInt8]) -> ExplorerState.Key? {
        if bytes.isEmpty { return .escape }
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
}
