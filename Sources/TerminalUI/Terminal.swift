import CNCursesW
import CTermGuard
import Explorer
#if canImport(Glibc)
import Glibc
#endif

/// The ncurses backend: starts curses (with `newterm`, which fails instead of exiting on an unknown
/// TERM), copies a `CellBuffer` to the screen with one `doupdate` per frame, reads keys, and restores
/// the terminal on quit, on Ctrl-C/SIGTERM (ncurses' own handlers) and on a crash (CTermGuard).
/// All calls must come from one thread.
public final class Terminal {
    public let colorMode: ColorMode
    public let unicode: Bool
    private var screen: OpaquePointer?
    private var closed = false
    /// Whether the terminal reports mouse clicks.
    public private(set) var mouseEnabled = false

    public enum OpenError: Error { case notATerminal(String) }

    /// Why the interactive view cannot start here, or nil when it can: stdout is not a terminal,
    /// TERM is unset or `dumb`.
    public static func unavailableReason() -> String? {
        if isatty(1) == 0 { return "stdout is not a terminal" }
        guard let term = getenv("TERM").map({ String(cString: $0) }), !term.isEmpty else { return "TERM is not set" }
        if term == "dumb" { return "TERM=dumb" }
        return nil
    }

    /// `preference`: "auto", "none", "8" or "256". NO_COLOR (non-empty) means none under auto.
    public init(colorPreference preference: String) throws {
        setlocale(LC_ALL, "")
        unicode = nc_codeset_is_utf8() != 0
        termguard_save_tty()
        guard let out = fdopen(1, "w"), let inp = fdopen(0, "r") else { throw OpenError.notATerminal("cannot open the terminal") }
        guard let scr = newterm(nil, out, inp) else {
            throw OpenError.notATerminal("this terminal type is unknown to ncurses (TERM=\(getenv("TERM").map { String(cString: $0) } ?? "unset"))")
        }
        screen = scr
        guard nc_has_cup() != 0 else {
            endwin(); delscreen(scr); screen = nil
            throw OpenError.notATerminal("this terminal cannot move the cursor")
        }
        termguard_arm()
        let noColor = (getenv("NO_COLOR").map { String(cString: $0) } ?? "") != ""
        var mode: ColorMode = .none
        if has_colors() {
            start_color()
            use_default_colors()
            let colors = nc_colors()
            switch preference {
            case "none": mode = .none
            case "8": mode = .eight
            case "256": mode = colors >= 256 ? .c256 : .eight
            default: mode = noColor ? .none : (colors >= 256 ? .c256 : .eight)
            }
        }
        colorMode = mode
        cbreak()
        noecho()
        keypad(nc_stdscr(), true)
        curs_set(0)
        set_escdelay(50)
        // Clicks select a patch; where the terminal has no mouse this does nothing.
        mouseEnabled = nc_enable_mouse() != 0
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        endwin()
        termguard_disarm()
        if let s = screen { delscreen(s) }
        screen = nil
    }

    public var size: (width: Int, height: Int) {
        var y: Int32 = 0, x: Int32 = 0
        nc_getmaxyx(nc_stdscr(), &y, &x)
        return (Int(x), Int(y))
    }

    /// Copies the buffer to the screen: erase (not clear, so unchanged cells send nothing over SSH),
    /// draw, one update.
    public func draw(_ buf: CellBuffer) {
        let win = nc_stdscr()
        werase(win)
        let (w, h) = size
        for y in 0..<min(h, buf.height) {
            for x in 0..<min(w, buf.width) {
                let c = buf[x, y]
                // The bottom-right cell cannot be written without scrolling on some terminals.
                if y == h - 1 && x == w - 1 { continue }
                var attrs: attr_t = 0
                if c.attrs.contains(.bold) { attrs |= nc_a_bold() }
                if c.attrs.contains(.dim) { attrs |= nc_a_dim() }
                if c.attrs.contains(.reverse) { attrs |= nc_a_reverse() }
                if c.attrs.contains(.underline) { attrs |= nc_a_underline() }
                var pair: Int32 = 0
                if colorMode != .none && (c.fg >= 0 || c.bg >= 0) {
                    let p = alloc_pair(Int32(c.fg), Int32(c.bg))
                    pair = p > 0 ? p : 0
                }
                let scalar = c.char.unicodeScalars.first.map { Int32($0.value) } ?? 32
                _ = nc_put_wch(win, Int32(y), Int32(x), wchar_t(scalar), attrs, pair)
            }
        }
        wnoutrefresh(win)
        doupdate()
    }

    /// Waits up to `timeoutMs` for a key; nil when none came.
    public func readKey(timeoutMs: Int32) -> ExplorerState.Key? {
        wtimeout(nc_stdscr(), timeoutMs)
        let k = wgetch(nc_stdscr())
        switch k {
        case ERR: return nil
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_RESIZE: return .resize
        case KEY_MOUSE:
            var y: Int32 = 0, x: Int32 = 0
            return nc_left_click(&y, &x) != 0 ? .click(x: Int(x), y: Int(y)) : nil
        case 9: return .tab
        case 12: return .ctrlL
        case 27: return readEscapeSequence()
        case 32...126: return .char(Character(UnicodeScalar(UInt8(k))))
        default: return nil
        }
    }

    /// After an ESC that ncurses did not decode: the bytes already waiting (a sequence arrives in one
    /// burst; a lone Escape press has nothing after it within ESCDELAY). A complete CSI/SS3 sequence is
    /// decoded by `EscapeSequence` (unknown ones do nothing); anything else was Escape followed by
    /// ordinary keys typed quickly, so those bytes go back to be read as keys.
    private func readEscapeSequence() -> ExplorerState.Key? {
        var bytes: [UInt8] = []
        wtimeout(nc_stdscr(), 0)
        while bytes.count < 16 && !EscapeSequence.isComplete(bytes) {
            let k = wgetch(nc_stdscr())
            guard k >= 0 && k < 256 else {
                // ERR: nothing pending. A decoded key (KEY_*) after ESC: hand it back for the next read.
                if k != ERR { ungetch(k) }
                break
            }
            bytes.append(UInt8(k))
        }
        if EscapeSequence.isSequence(bytes) { return EscapeSequence.decode(bytes) }
        for byte in bytes.reversed() { ungetch(Int32(byte)) }   // ungetch is a stack: reversed keeps the order
        return .escape
    }
}
