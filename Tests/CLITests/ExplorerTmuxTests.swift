import Foundation
import XCTest

/// The explorer end to end in a real terminal: tmux (installed by the README's set-up command and
/// `.ci/run`) runs the release binary in a fixed 80x24 session; keys go in with send-keys and the
/// screen comes back with capture-pane.
final class ExplorerTmuxTests: XCTestCase {
    var socket = ""
    var tmp = ""

    /// Runs a tmux client command through the shell (popen: the tmux server started by the first
    /// command must not inherit this process's pipes, which Foundation's Process would hand it).
    @discardableResult
    func tmux(_ args: [String], capture: Bool = true) throws -> String {
        let quoted = (["TMUX_TMPDIR=" + tmp, "/usr/bin/tmux", "-L", socket, "-f", "/dev/null"] + args)
            .map { $0.hasPrefix("TMUX_TMPDIR=") ? $0 : "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let cmd = quoted.joined(separator: " ") + (capture ? " 2>/dev/null </dev/null" : " </dev/null >/dev/null 2>&1")
        guard let f = popen(cmd, "r") else { throw XCTSkip("cannot run tmux") }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        pclose(f)
        return String(decoding: out, as: UTF8.self)
    }

    /// Polls the pane until it contains `text` (10 s at most).
    func waitFor(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var screen = ""
        for _ in 0..<200 {
            screen = try tmux(["capture-pane", "-p", "-t", "s"])
            if screen.contains(text) { return screen }
            usleep(50_000)
        }
        XCTFail("screen never showed \"\(text)\":\n\(screen)", file: file, line: line)
        return screen
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed (apt-get install tmux)") }
        guard FileManager.default.isExecutableFile(atPath: CLI.binary) else { throw XCTSkip("no release binary at \(CLI.binary)") }
        socket = "ts\(getpid())"
        tmp = NSTemporaryDirectory() + "tokenscope-tmux-\(getpid())"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        stopServer()
        try? FileManager.default.removeItem(atPath: tmp)
    }

    /// Kills the tmux server and waits (2 s at most) until its socket is gone: kill-server returns
    /// before the server has exited, and a new-session sent meanwhile reaches the dying server and
    /// never shows a pane.
    func stopServer() {
        _ = try? tmux(["kill-server"], capture: false)
        let socketPath = tmp + "/tmux-\(getuid())/" + socket
        for _ in 0..<100 where FileManager.default.fileExists(atPath: socketPath) { usleep(20_000) }
    }

    func start(_ env: String = "", command: String = "explore", size: (Int, Int) = (80, 24)) throws {
        let cmd = "env TERM=xterm-256color \(env) \(CLI.binary) \(command) --model \(CLI.fixture("vit-s8.safetensors")) " +
            "\(CLI.fixture("images/pp_a.png")) \(CLI.fixture("images/rgb8.png")); echo EXIT=$?; sleep 30"
        try tmux(["new-session", "-d", "-s", "s", "-x", "\(size.0)", "-y", "\(size.1)", "-e", "LANG=C.UTF-8", "-e", "NCURSES_NO_UTF8_ACS=1", cmd],
                 capture: false)
    }

    /// Ctrl-C, kill, a closed terminal, Ctrl-\\ and crashes: the main screen is back, the cursor
    /// visible, and the process dies of the signal within a second (the shell sees 128 + n); a crash
    /// prints the Swift runtime's report on the restored terminal without waiting for a key.
    func testEverySignalRestoresTheTerminalAndEndsTheProcess() throws {
        for (name, number) in [("INT", SIGINT), ("TERM", SIGTERM), ("HUP", SIGHUP), ("QUIT", SIGQUIT), ("SEGV", SIGSEGV), ("ABRT", SIGABRT)] {
            stopServer()
            try start()
            _ = try waitFor("keep")
            XCTAssertEqual(try tmux(["display", "-p", "-t", "s", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "1", name)
            let shell = try tmux(["display", "-p", "-t", "s", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let shellPid = Int32(shell), let child = Self.child(of: shellPid) else { return XCTFail("\(name): no explorer process under the pane") }
            let sent = Date()
            kill(child, number)
            while kill(child, 0) == 0 && Date().timeIntervalSince(sent) < 5 { usleep(20_000) }
            XCTAssertLessThan(Date().timeIntervalSince(sent), 1.0, "\(name): still running")
            let screen = try waitFor("EXIT=")
            XCTAssertTrue(screen.contains("EXIT=\(128 + number)"), "\(name): \(screen)")
            XCTAssertEqual(try tmux(["display", "-p", "-t", "s", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0", name)
            XCTAssertEqual(try tmux(["display", "-p", "-t", "s", "#{cursor_flag}"]).trimmingCharacters(in: .whitespacesAndNewlines), "1", name)
            if number == SIGSEGV {
                let all = try tmux(["capture-pane", "-p", "-S", "-200", "-t", "s"])
                XCTAssertTrue(all.contains("Program crashed"), "the crash report shows: \(all)")
            }
        }
    }

    func display(_ format: String) throws -> String {
        try tmux(["display", "-p", "-t", "s", format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Ctrl-Z in an interactive shell (job control): the explorer stops with the main screen back and
    /// the cursor visible; `fg` brings it back on the alternate screen, redrawn; q then ends it with 0.
    func testCtrlZSuspendsAndFgRedraws() throws {
        try tmux(["new-session", "-d", "-s", "s", "-x", "80", "-y", "24", "-e", "LANG=C.UTF-8", "-e", "NCURSES_NO_UTF8_ACS=1",
                  "env PS1='$ ' bash --norc --noprofile -i"], capture: false)
        _ = try waitFor("$")
        let cmd = "env TERM=xterm-256color \(CLI.binary) explore --model \(CLI.fixture("vit-s8.safetensors")) " +
            "\(CLI.fixture("images/pp_a.png")) \(CLI.fixture("images/rgb8.png"))"
        try tmux(["send-keys", "-t", "s", "-l", cmd], capture: false)
        try tmux(["send-keys", "-t", "s", "Enter"], capture: false)
        _ = try waitFor("  17 > ")
        XCTAssertEqual(try display("#{alternate_on}"), "1")
        for round in 1...2 {
            try tmux(["send-keys", "-t", "s", "C-z"], capture: false)
            var suspended = false
            for _ in 0..<200 where !suspended {
                usleep(50_000)
                suspended = try display("#{alternate_on}") == "0"
            }
            XCTAssertTrue(suspended, "round \(round): Ctrl-Z leaves the alternate screen")
            let screen = try waitFor("Stopped")
            XCTAssertEqual(try display("#{cursor_flag}"), "1", "round \(round): the cursor is visible while suspended")
            XCTAssertFalse(screen.contains("  17 > "), "round \(round): the shell's screen, not the explorer's:\n\(screen)")
            try tmux(["send-keys", "-t", "s", "-l", "fg"], capture: false)
            try tmux(["send-keys", "-t", "s", "Enter"], capture: false)
            let back = try waitFor("  17 > ")
            XCTAssertEqual(try display("#{alternate_on}"), "1", "round \(round): fg: the alternate screen again")
            XCTAssertTrue(back.contains("layer 1/3") && back.contains("keep 0.70"), "round \(round): redrawn:\n\(back)")
            // Keys still work after the resume.
            try tmux(["send-keys", "-t", "s", "l"], capture: false)
            _ = try waitFor("layer 2/3")
            try tmux(["send-keys", "-t", "s", "h"], capture: false)
            _ = try waitFor("layer 1/3")
            // And clicks: mouse reporting is back, and its reports are still decoded.
            try tmux(["send-keys", "-t", "s", "-l", "\u{1b}[<0;10;3M"], capture: false)
            try tmux(["send-keys", "-t", "s", "-l", "\u{1b}[<0;10;3m"], capture: false)
            _ = try waitFor("patch 1 (row 0, col 1)")
            try tmux(["send-keys", "-t", "s", "Escape"], capture: false)
            usleep(300_000)
        }
        try tmux(["send-keys", "-t", "s", "q"], capture: false)
        var ended = false
        for _ in 0..<200 where !ended {
            usleep(50_000)
            ended = try display("#{alternate_on}") == "0"
        }
        XCTAssertTrue(ended, "q leaves the alternate screen")
        try tmux(["send-keys", "-t", "s", "-l", "echo EXIT=$?"], capture: false)
        try tmux(["send-keys", "-t", "s", "Enter"], capture: false)
        _ = try waitFor("EXIT=0")
    }

    /// The first child process of `pid` (the explorer under the pane's shell).
    static func child(of pid: Int32) -> Int32? {
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8),
               let first = text.split(separator: " ").first, let c = Int32(first) { return c }
            usleep(50_000)
        }
        return nil
    }

    /// The layouts (1 one layer, 2 all layers, 3 the methods), the glyph key and the patch cursor,
    /// at 200x60 and 80x24.
    func testLayoutsGlyphsAndPatchCursor() throws {
        try start(size: (200, 60))
        _ = try waitFor("  17 > ")
        _ = try tmux(["send-keys", "-t", "s", "2"])
        var screen = try waitFor("layer 3: ")
        XCTAssertTrue(screen.contains("layer 1: ") && screen.contains("layer 2: "), screen)
        _ = try tmux(["send-keys", "-t", "s", "3"])
        screen = try waitFor("tokens run")
        for m in ["Prune and Merge", "ToMe", "EViT"] { XCTAssertTrue(screen.contains(m), screen) }
        _ = try waitFor("GFLOPs")
        _ = try tmux(["resize-window", "-t", "s", "-x", "80", "-y", "24"])
        screen = try waitFor("EViT")
        _ = try tmux(["send-keys", "-t", "s", "1"])
        _ = try waitFor("view: states")
        _ = try tmux(["send-keys", "-t", "s", "t"])
        _ = try waitFor("glyphs on")
        _ = try tmux(["send-keys", "-t", "s", "L"])
        screen = try waitFor("in every layer")
        XCTAssertTrue(screen.contains("patch 10 (row 2, col 2)"), "4x4 grid: the cursor starts in the middle\n\(screen)")
        _ = try tmux(["send-keys", "-t", "s", "S-Left"])
        _ = try waitFor("patch 9 (row 2, col 1)")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    /// The snapshot is the screen: its characters equal what tmux shows after the same keys, line for
    /// line (bar the panel's timing, which is the analysis's own).
    func testSnapshotShowsWhatTheTerminalShows() throws {
        let txt = CLI.temp("screen.txt")
        try? FileManager.default.removeItem(atPath: txt)
        defer { try? FileManager.default.removeItem(atPath: txt) }
        let keys = "2ll"
        let snap = try CLI.run(["explore", "--model", CLI.fixture("vit-s8.safetensors"), CLI.fixture("images/pp_a.png"), CLI.fixture("images/rgb8.png"),
                                "--snapshot", txt, "--size", "100x32", "--keys", keys, "--color", "256"])
        XCTAssertEqual(snap.status, 0, snap.stderr)
        let want = try String(contentsOfFile: txt, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).prefix(32)
        try start("NO_COLOR=", size: (100, 32))
        _ = try waitFor("  17 > ")
        for k in keys { _ = try tmux(["send-keys", "-t", "s", String(k)]) }
        let screen = try waitFor("layer 3: ")
        let got = screen.split(separator: "\n", omittingEmptySubsequences: false)
        func clean(_ s: Substring) -> String {
            String(s).replacingOccurrences(of: #" [0-9]+ ms"#, with: " _ ms", options: .regularExpression)
                .trimmingCharacters(in: .whitespaces)
        }
        XCTAssertEqual(want.count, 32)
        for (i, line) in want.enumerated() where i < 31 {  // the footer's last cell is never written
            XCTAssertEqual(clean(line), i < got.count ? clean(got[i]) : "", "row \(i)")
        }
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    /// COLORTERM=truecolor with a direct-colour terminfo entry (ncurses-term): 24-bit colour escapes.
    func testTruecolorWhereTheTerminfoHasIt() throws {
        guard ["/usr/share/terminfo/x/xterm-direct", "/lib/terminfo/x/xterm-direct"].contains(where: FileManager.default.fileExists) else {
            throw XCTSkip("no xterm-direct terminfo entry (apt-get install ncurses-term)")
        }
        // NO_COLOR empty: the test runner may set it, and an empty NO_COLOR asks for nothing.
        try start("NO_COLOR= COLORTERM=truecolor")
        _ = try waitFor("  17 > ")
        let sgr = try tmux(["capture-pane", "-p", "-e", "-t", "s"])
        XCTAssertTrue(sgr.contains("38;2;"), "24-bit foregrounds:\n\(sgr.prefix(300))")
        XCTAssertFalse(sgr.contains("38;5;"), "no 256-colour escapes")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    func testKeysChangeLayerKeepAndHelpThenQuit() throws {
        try start()
        var screen = try waitFor("  17 > ")  // per-layer token counts, once the first analysis is in
        XCTAssertTrue(screen.contains("layer 1/3"), screen)
        XCTAssertTrue(screen.contains("keep 0.70"), screen)
        _ = try tmux(["send-keys", "-t", "s", "l", "l"])
        _ = try waitFor("layer 3/3")
        // tmux sends Home/End as ESC [ 1 ~ / ESC [ 4 ~, which xterm-256color's terminfo does not list:
        // the explorer decodes them itself instead of reading the '[' as "prune rate up".
        _ = try tmux(["send-keys", "-t", "s", "Home"])
        screen = try waitFor("layer 1/3")
        XCTAssertTrue(screen.contains("prune 0.10"), screen)
        _ = try tmux(["send-keys", "-t", "s", "End"])
        screen = try waitFor("layer 3/3")
        XCTAssertTrue(screen.contains("prune 0.10"), screen)
        _ = try tmux(["send-keys", "-t", "s", "Up"])
        screen = try waitFor("keep 0.75")
        _ = try tmux(["send-keys", "-t", "s", "Down", "Down", "["])
        screen = try waitFor("prune 0.15")
        XCTAssertTrue(screen.contains("keep 0.65"), screen)
        _ = try tmux(["send-keys", "-t", "s", "?"])
        screen = try waitFor("HELP")
        XCTAssertTrue(screen.contains("┌"), screen)
        _ = try tmux(["send-keys", "-t", "s", "Escape"])
        _ = try tmux(["send-keys", "-t", "s", "n"])
        _ = try waitFor("image 2/2")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
        XCTAssertEqual(try tmux(["display", "-p", "-t", "s", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "the alternate screen is left on quit")
    }

    func testTooSmallThenResizedAndNoColor() throws {
        try start("NO_COLOR=1")
        _ = try waitFor("layer 1/3")
        _ = try tmux(["resize-window", "-t", "s", "-x", "60", "-y", "20"])
        _ = try waitFor("terminal too small: 60x20, need 80x24")
        _ = try tmux(["resize-window", "-t", "s", "-x", "80", "-y", "24"])
        _ = try waitFor("layer 1/3")
        let sgr = try tmux(["capture-pane", "-p", "-e", "-t", "s"])
        XCTAssertFalse(sgr.contains("38;5;"), "NO_COLOR: no 256-colour escapes")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    /// Help opened, then the window shrunk below 80x24: the help cannot be seen there, and q still quits.
    func testQuitsFromATooSmallWindowWithHelpOpen() throws {
        try start()
        _ = try waitFor("layer 1/3")
        _ = try tmux(["send-keys", "-t", "s", "?"])
        _ = try waitFor("HELP")
        _ = try tmux(["resize-window", "-t", "s", "-x", "59", "-y", "17"])
        _ = try waitFor("q quits")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    /// The layer number shown in the panel ("layer N/3").
    func shownLayer(_ screen: String) -> String? {
        guard let r = screen.range(of: #"layer [0-9]+/3"#, options: .regularExpression) else { return nil }
        return String(screen[r])
    }

    func testDemoAdvancesByItselfPausesOnAKeyAndQuits() throws {
        try start(command: "demo --speed 5")
        _ = try waitFor("DEMO")
        _ = try waitFor("layer 2/3")  // no key sent: the demo walks the layers itself
        _ = try tmux(["send-keys", "-t", "s", "x"])
        var screen = try waitFor("paused")
        let layer = shownLayer(screen)
        XCTAssertNotNil(layer, screen)
        usleep(1_500_000)  // 7 demo steps' worth
        screen = try tmux(["capture-pane", "-p", "-t", "s"])
        XCTAssertEqual(shownLayer(screen), layer, "paused: nothing moves by itself")
        _ = try tmux(["send-keys", "-t", "s", "l"])  // the controls are the user's now
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
        XCTAssertEqual(try tmux(["display", "-p", "-t", "s", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testDemoWithNoColorAndACLocale() throws {
        try start("NO_COLOR=1 LANG=C LC_ALL=C", command: "demo --speed 5")
        _ = try waitFor("DEMO")
        _ = try waitFor("layer 2/3")
        let sgr = try tmux(["capture-pane", "-p", "-e", "-t", "s"])
        XCTAssertFalse(sgr.contains("38;5;") || sgr.contains("48;5;"), "NO_COLOR: no 256-colour escapes")
        let text = try tmux(["capture-pane", "-p", "-t", "s"])
        XCTAssertTrue(text.unicodeScalars.allSatisfy { $0.isASCII }, "C locale: ASCII only, no blank half blocks:\n\(text)")
        XCTAssertTrue(text.contains("DEMO"))
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    func testDemoIn8Colours() throws {
        try start(command: "demo --speed 5 --color 8")
        _ = try waitFor("layer 2/3")
        let sgr = try tmux(["capture-pane", "-p", "-e", "-t", "s"])
        XCTAssertFalse(sgr.contains("38;5;") || sgr.contains("48;5;"), "8 colours: no 256-colour escapes")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    func testMouseClickSelectsAPatch() throws {
        try start()
        _ = try waitFor("  17 > ")
        // An SGR mouse press and release at column 10, row 3 (1-based): the second patch of the first row.
        _ = try tmux(["send-keys", "-t", "s", "-l", "\u{1b}[<0;10;3M"])
        _ = try tmux(["send-keys", "-t", "s", "-l", "\u{1b}[<0;10;3m"])
        _ = try waitFor("patch 1 (row 0, col 1)")
        _ = try tmux(["send-keys", "-t", "s", "Escape"])
        var cleared = false
        for _ in 0..<100 where !cleared {
            usleep(50_000)
            cleared = !(try tmux(["capture-pane", "-p", "-t", "s"])).contains("patch 1 (row 0")
        }
        XCTAssertTrue(cleared, "Esc clears the selection")
        _ = try tmux(["send-keys", "-t", "s", "q"])
        _ = try waitFor("EXIT=0")
    }

    /// A mouse report that completes no click (here a right-button press) leaves the explorer running:
    /// the demo goes on by itself. ncurses, left to parse mouse reports, then waited in a blocking read
    /// for the next byte (the soak found it after a release). Both encodings: SGR (xterm's terminfo)
    /// and X10 (screen's and tmux's: three bytes of value + 32).
    func testAMouseReportThatIsNoClickDoesNotStopTheLoop() throws {
        for (term, press) in [("xterm-256color", "\u{1b}[<2;10;3M"), ("screen-256color", "\u{1b}[M\"*#")] {
            try start("TERM=\(term)", command: "demo --speed 5")
            let before = shownLayer(try waitFor("DEMO"))
            _ = try tmux(["send-keys", "-t", "s", "-l", press])
            var moved = false
            for _ in 0..<60 where !moved {
                usleep(50_000)
                let now = shownLayer(try tmux(["capture-pane", "-p", "-t", "s"]))
                moved = now != nil && now != before
            }
            XCTAssertTrue(moved, "\(term): the demo stopped after a right-button press")
            _ = try tmux(["send-keys", "-t", "s", "q"])
            _ = try waitFor("EXIT=0")
            stopServer()
        }
    }
}
