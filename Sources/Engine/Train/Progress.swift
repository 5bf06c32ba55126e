import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long job (training) on stderr, plus a JSON-lines log for machines.
///
/// Two renderings of one `ProgressSnapshot`:
/// - on a terminal (isatty(2)), one line redrawn in place with `\r` and erase-to-end-of-line,
///   at most every `redrawInterval` seconds (0.1 s, 10 redraws per second), trimmed to the
///   terminal width so that it never wraps (a wrapped line cannot be redrawn with `\r`):
///
///       epoch 2/6 [#####-------] 1234/2814 loss 1.2345 acc 56.7% 63.2 img/s ETA 0:12:34
///
/// - otherwise (a log file, CI, `nohup`), a plain line at most every `logInterval` seconds
///   (30 s by default) and always for the first and last update:
///
///       epoch 2/6 step 1234/2814 (43.9%) loss 1.2345 acc 56.7% 63.2 img/s elapsed 0:15:00 ETA 0:12:34
///
/// `step` counts updates done, over the whole run (not per epoch); the bar and the ETA are for the
/// whole run. Rate and ETA are averages since the reporter started (`startStep` for a resumed run):
/// images/s = images / elapsed, ETA = elapsed / (step − startStep) · (totalSteps − step).
/// The text comes from pure functions in `ProgressFormat` so tests can check it; the reporter only
/// decides when to draw, and takes its clock and output as parameters for the same reason.
public struct ProgressSnapshot: Sendable, Equatable {
    /// 1-based epoch and the number of epochs.
    public var epoch: Int
    public var epochs: Int
    /// Updates done so far and planned in total (whole run).
    public var step: Int
    public var totalSteps: Int
    /// Running training loss and accuracy in percent (0...100, like `EvalResult.top1`); nil shows as "-".
    public var loss: Double?
    public var accuracy: Double?
    public var imagesPerSecond: Double?
    public var elapsedSeconds: Double
    public var etaSeconds: Double?

    public init(epoch: Int, epochs: Int, step: Int, totalSteps: Int, loss: Double? = nil, accuracy: Double? = nil,
                imagesPerSecond: Double? = nil, elapsedSeconds: Double = 0, etaSeconds: Double? = nil) {
        self.epoch = epoch; self.epochs = epochs; self.step = step; self.totalSteps = totalSteps
        self.loss = loss; self.accuracy = accuracy; self.imagesPerSecond = imagesPerSecond
        self.elapsedSeconds = elapsedSeconds; self.etaSeconds = etaSeconds
    }

    /// Done fraction in 0...1 (0 when no steps are planned).
    public var fraction: Double { totalSteps > 0 ? min(max(Double(step) / Double(totalSteps), 0), 1) : 0 }
}

/// The pure text functions behind `ProgressReporter`.
public enum ProgressFormat {
    /// h:mm:ss with unbounded hours ("0:00:07", "27:03:00"); "-:--:--" when unknown (nil,
    /// negative or not finite). Seconds are rounded to the nearest whole second.
    public static func clock(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "-:--:--" }
        let total = Int(seconds.rounded())
        let h = total / 3600, m = (total / 60) % 60, s = total % 60
        return "\(h):\(m < 10 ? "0" : "")\(m):\(s < 10 ? "0" : "")\(s)"
    }

    /// `[####----]` with `width` cells inside the brackets, `#` for the done part (rounded down).
    public static func bar(fraction: Double, width: Int) -> String {
        let w = max(width, 0)
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let done = min(Int(f * Double(w)), w)
        return "[" + String(repeating: "#", count: done) + String(repeating: "-", count: w - done) + "]"
    }

    static func fields(_ s: ProgressSnapshot) -> (loss: String, acc: String, rate: String) {
        (s.loss.map { "loss " + String(format: "%.4f", $0) } ?? "loss -",
         s.accuracy.map { "acc " + String(format: "%.1f%%", $0) } ?? "acc -",
         s.imagesPerSecond.map { String(format: "%.1f img/s", $0) } ?? "- img/s")
    }

    /// The in-place terminal line, at most `columns - 1` characters (the last column is left free
    /// because some terminals wrap when it is written). The bar takes the room left, up to 30 cells
    /// (or exactly `barWidth` when given), and is dropped when fewer than 5 cells remain; a line that
    /// still does not fit loses its end.
    public static func terminalLine(_ s: ProgressSnapshot, columns: Int = 80, barWidth: Int? = nil) -> String {
        let f = fields(s)
        let head = "epoch \(s.epoch)/\(s.epochs)"
        let tail = "\(s.step)/\(s.totalSteps) \(f.loss) \(f.acc) \(f.rate) ETA \(clock(s.etaSeconds))"
        let limit = max(columns - 1, 1)
        let short = "\(head) \(tail)"
        let width = barWidth ?? min(30, limit - short.count - 3)
        if width >= 5 || barWidth != nil {
            let full = "\(head) \(bar(fraction: s.fraction, width: width)) \(tail)"
            if full.count <= limit { return full }
        }
        return short.count <= limit ? short : String(short.prefix(limit))
    }

    /// The plain line for logs.
    public static func logLine(_ s: ProgressSnapshot) -> String {
        let f = fields(s)
        return "epoch \(s.epoch)/\(s.epochs) step \(s.step)/\(s.totalSteps) (\(String(format: "%.1f", 100 * s.fraction))%) "
            + "\(f.loss) \(f.acc) \(f.rate) elapsed \(clock(s.elapsedSeconds)) ETA \(clock(s.etaSeconds))"
    }
}

/// Decides when to draw and writes to stderr (or the `output` given). Not thread-safe: call it
/// from the training loop's thread.
public final class ProgressReporter {
    public let epochs: Int
    public let totalSteps: Int
    public let startStep: Int
    public let isTerminal: Bool
    public let logInterval: Double
    public let redrawInterval: Double
    private let output: (String) -> Void
    private let now: () -> Double
    private let columns: () -> Int
    private let start: Double
    private var lastDraw = -Double.infinity
    private var last: ProgressSnapshot?
    private var lastShown = false
    private var lineOnScreen = false

    /// - Parameters:
    ///   - startStep: the step the run resumes from (0 for a fresh run), so rate and ETA count
    ///     only the work done by this process.
    ///   - isTerminal: defaults to isatty(2).
    ///   - output: receives the exact text (with `\r`, escapes and newlines); defaults to stderr.
    ///   - now: monotonic seconds; defaults to `Clock.now`.
    public init(epochs: Int, totalSteps: Int, startStep: Int = 0, isTerminal: Bool = isatty(2) == 1,
                logInterval: Double = 30, redrawInterval: Double = 0.1,
                output: @escaping (String) -> Void = ProgressReporter.writeStderr,
                now: @escaping () -> Double = Clock.now,
                columns: @escaping () -> Int = ProgressReporter.terminalColumns) {
        self.epochs = epochs
        self.totalSteps = totalSteps
        self.startStep = startStep
        self.isTerminal = isTerminal
        self.logInterval = logInterval
        self.redrawInterval = redrawInterval
        self.output = output
        self.now = now
        self.columns = columns
        start = now()
    }

    /// The snapshot for these numbers at time `t`: rate and ETA as described at the top.
    public func snapshot(epoch: Int, step: Int, loss: Double?, accuracy: Double?, images: Int, at t: Double) -> ProgressSnapshot {
        let elapsed = max(t - start, 0)
        let done = step - startStep
        let rate: Double? = elapsed > 0 && images > 0 ? Double(images) / elapsed : nil
        let eta: Double? = done > 0 ? elapsed / Double(done) * Double(max(totalSteps - step, 0)) : nil
        return ProgressSnapshot(epoch: epoch, epochs: epochs, step: step, totalSteps: totalSteps, loss: loss,
                                accuracy: accuracy, imagesPerSecond: rate, elapsedSeconds: elapsed, etaSeconds: eta)
    }

    /// Reports the state after `step` updates; `accuracy` is in percent; `images` counts images
    /// processed by this process.
    /// Draws when the interval has passed, on the first and the last step, or when `force` is set.
    public func update(epoch: Int, step: Int, loss: Double?, accuracy: Double?, images: Int, force: Bool = false) {
        let t = now()
        let s = snapshot(epoch: epoch, step: step, loss: loss, accuracy: accuracy, images: images, at: t)
        last = s
        let interval = isTerminal ? redrawInterval : logInterval
        guard force || lastDraw == -.infinity || step >= totalSteps || t - lastDraw >= interval else {
            lastShown = false
            return
        }
        lastDraw = t
        draw(s)
    }

    /// A line that stays (an epoch summary, a warning): on a terminal the bar is cleared, the text
    /// printed and the bar drawn again below it.
    public func message(_ text: String) {
        if isTerminal && lineOnScreen {
            output("\r\u{1B}[K" + text + "\n")
            lineOnScreen = false
            if let last { draw(last) }
        } else {
            output(text + "\n")
        }
    }

    /// Shows the last state if it was not shown and ends the in-place line.
    public func finish() {
        if let last, !lastShown { draw(last) }
        if isTerminal && lineOnScreen { output("\n"); lineOnScreen = false }
    }

    private func draw(_ s: ProgressSnapshot) {
        if isTerminal {
            output("\r" + ProgressFormat.terminalLine(s, columns: columns()) + "\u{1B}[K")
            lineOnScreen = true
        } else {
            output(ProgressFormat.logLine(s) + "\n")
        }
        lastShown = true
    }

    /// Writes straight to file descriptor 2 (unbuffered, safe in Swift 6 without the `stderr` global).
    public static func writeStderr(_ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let r = bytes.withUnsafeBytes { raw in Glibc.write(2, raw.baseAddress.map { $0 + done }, raw.count - done) }
            if r < 0 { if errno == EINTR { continue }; return }
            done += r
        }
    }

    /// Width of the terminal on stderr (TIOCGWINSZ), else $COLUMNS, else 80.
    public static func terminalColumns() -> Int {
        var ws = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 0 { return Int(ws.ws_col) }
        if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0) }), c > 0 { return c }
        return 80
    }
}

/// One JSON object per line, appended to a file (created if missing) and flushed after every line,
/// so a crashed or killed run keeps every line written so far and `tail -f`, `jq` or pandas can
/// read it while it grows. Keys are sorted so lines diff cleanly.
///
/// Values: strings, Bool, any integer, Double and Float (shortest round-trip text, `0.1` for
/// Float(0.1)), nil/Optional, arrays and nested `[String: Any]`; anything else is written as its
/// description string. Non-finite numbers become `null` (JSON has no NaN or infinity).
public final class JSONLinesLog {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>

    public init(path: String) throws {
        guard let f = fopen(path, "a") else {
            throw EngineError("cannot open log \(path) for appending: \(String(cString: strerror(errno))); check that the directory exists and is writable")
        }
        self.path = path
        file = f
    }

    deinit { fclose(file) }

    /// Appends one line; returns false if the write or the flush failed (disk full, I/O error),
    /// so a training run can warn without stopping.
    @discardableResult
    public func write(_ fields: [String: Any]) -> Bool {
        let line = Self.encode(fields) + "\n"
        let ok = fputs(line, file) >= 0
        return fflush(file) == 0 && ok
    }

    /// The JSON text of one object, keys sorted, no spaces, no newline.
    public static func encode(_ fields: [String: Any]) -> String {
        var out = ""
        encodeValue(fields, into: &out)
        return out
    }

    private static func encodeValue(_ value: Any, into out: inout String) {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            if let child = mirror.children.first { encodeValue(child.value, into: &out) } else { out += "null" }
            return
        }
        switch value {
        case let b as Bool: out += b ? "true" : "false"
        case let s as String: encodeString(s, into: &out)
        case let s as Substring: encodeString(String(s), into: &out)
        case let d as Double: out += d.isFinite ? "\(d)" : "null"
        case let f as Float: out += f.isFinite ? "\(f)" : "null"
        case let i as any BinaryInteger: out += "\(i)"
        case let dict as [String: Any]:
            out += "{"
            for (n, key) in dict.keys.sorted().enumerated() {
                if n > 0 { out += "," }
                encodeString(key, into: &out)
                out += ":"
                if let v = dict[key] { encodeValue(v, into: &out) }
            }
            out += "}"
        case let array as [Any]:
            out += "["
            for (n, v) in array.enumerated() {
                if n > 0 { out += "," }
                encodeValue(v, into: &out)
            }
            out += "]"
        default: encodeString(String(describing: value), into: &out)
        }
    }

    private static func encodeString(_ s: String, into out: inout String) {
        out += jsonString(s)
    }
}
