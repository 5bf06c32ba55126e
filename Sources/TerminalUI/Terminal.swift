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

    /// `preference`: a colour mode, or nil for automatic: NO_COLOR (non-empty) means none, COLORTERM
    /// `truecolor` or `24bit` means direct colour where the terminfo database has a `*-direct` entry
    /// for this terminal (ncurses-term), otherwise what TERM's entry says (256 or 8 colours).
    public init(colorPreference preference: ColorMode?) throws {
        setlocale(LC_ALL, "")
        unicode = nc_codeset_is_utf8() != 0
        termguard_save_tty()
        guard let out = fdopen(1, "w"), let inp = fdopen(0, "r") else { throw OpenError.notATerminal("cannot open the terminal") }
        let env = { (name: String) in getenv(name).map { String(cString: $0) } ?? "" }
        let noColor = env("NO_COLOR") != ""
        let wantsDirect = preference == .truecolor || (preference == nil && !noColor && ["truecolor", "24bit"].contains(env("COLORTERM")))
        // Direct colour needs a terminfo entry that says so (RGB, colors#0x1000000): TERM's own
        // `-direct` sibling, else xterm's. None there: TERM as it is, in 256 colours.
        var scr: OpaquePointer?
        if wantsDirect {
            for name in Self.directEntries(for: env("TERM")) where scr == nil {
                scr = name.withCString { newterm($0, out, inp) }
                if let s = scr, nc_terminfo_colors() < 0x1000000 { endwin(); delscreen(s); scr = nil }
            }
        }
        if scr == nil { scr = newterm(nil, out, inp) }
        guard let scr else {
            throw OpenError.notATerminal("this terminal type is unknown to ncurses (TERM=\(getenv("TERM").map { String(cString: $0) } ?? "unset"))")
        }
        screen = scr
        guard nc_has_cup() != 0 else {
            endwin(); delscreen(scr); screen = nil
            throw OpenError.notATerminal("this terminal cannot move the cursor")
        }
        termguard_arm()
        var mode: ColorMode = .none
        if has_colors() {
            start_color()
            use_default_colors()
            let colors = nc_colors()
            let best: ColorMode = colors >= 0x1000000 ? .truecolor : (colors >= 256 ? .c256 : .eight)
            switch preference {
            case .none?: mode = .none
            case .eight?: mode = .eight
            case .c256?: mode = best == .eight ? .eight : .c256
            case .truecolor?: mode = best
            case nil: mode = noColor ? .none : best
            }
        }
        colorMode = mode
        cbreak()
        noecho()
        keypad(nc_stdscr(), true)
        meta(nc_stdscr(), true)  // all 8 bits: a click's X10 coordinates past column 95 are bytes over 127
        curs_set(0)
        set_escdelay(50)
        // Clicks select a patch; where the terminal has no mouse this does nothing. The reports come in
        // as escape sequences that `EscapeSequence` decodes.
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

    /// terminfo entries to try for direct colour: `xterm-256color` -> `xterm-direct`, then xterm's.
    static func directEntries(for term: String) -> [String] {
        let base = term.hasSuffix("-256color") ? String(term.dropLast("-256color".count)) : term
        return (base.isEmpty || base.hasSuffix("-direct") ? [base] : [base + "-direct"]).filter { !$0.isEmpty } + ["xterm-direct"]
    }

    /// The number ncurses takes for a colour: -1 the default; a palette index; with direct colour the
    /// RGB value itself (values 0-7 are read as the ANSI palette there, so the darkest blues move up).
    func colorNumber(_ c: CellColor) -> Int32 {
        let direct = colorMode == .truecolor
        switch c {
        case .terminalDefault: return -1
        case .palette(let i): return direct ? Self.rgbNumber(Palette.rgb(ofIndex: i).rgb8) : Int32(i)
        case .rgb(let v): return direct ? Self.rgbNumber(v) : Int32(Palette.index256(RGB(Double(v.r), Double(v.g), Double(v.b))))
        }
    }

    static func rgbNumber(_ v: RGB8) -> Int32 { max(8, Int32(v.r) << 16 | Int32(v.g) << 8 | Int32(v.b)) }

    public var size: (width: Int, height: Int) {
        var y: Int32 = 0, x: Int32 = 0
        nc_getmaxyx(nc_stdscr(), &y, &x)
        return (Int(x), Int(y))
    }

    /// The terminal's size right now, a resize ncurses has not taken in yet included (it does so only
    /// when no key is waiting): whether a key lands on a screen that fits is decided on this, or a key
    /// pressed just after the window grew back is dropped as if it were still too small.
    public var currentSize: (width: Int, height: Int) {
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 { return (Int(ws.ws_col), Int(ws.ws_row)) }
        return size
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
                if colorMode != .none && (c.fg != .terminalDefault || c.bg != .terminalDefault) {
                    let p = alloc_pair(colorNumber(c.fg), colorNumber(c.bg))
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
        // Cheap (a walk of the key table), and it catches the resume after Ctrl-Z, which runs inside
        // ncurses' signal handler and turns its own mouse parsing back on (see nc_enable_mouse).
        if mouseEnabled { nc_raw_mouse_reports() }
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
        case KEY_SLEFT: return .shiftLeft
        case KEY_SRIGHT: return .shiftRight
        case KEY_SR: return .shiftUp
        case KEY_SF: return .shiftDown
        case KEY_RESIZE: return .resize
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
