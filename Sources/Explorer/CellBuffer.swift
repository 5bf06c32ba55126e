import Foundation

/// A colour as the cell buffer holds it: the terminal's default, an xterm palette entry, or 24-bit
/// RGB (direct colour). The renderer picks the kind the terminal can show (`ColorMode.color(_:)`);
/// the backends and the snapshot only translate.
public enum CellColor: Hashable, Sendable {
    case terminalDefault
    /// xterm palette index 0...255.
    case palette(Int)
    case rgb(RGB8)

    /// The palette index, or nil for the default colour and for RGB.
    public var paletteIndex: Int? { if case .palette(let i) = self { return i }; return nil }
}

/// An 8-bit sRGB colour.
public struct RGB8: Hashable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
}

/// What the explorer draws into: a plain grid of cells (character, colours, attributes) that tests
/// read as text and the terminal backend copies to the screen.
public struct Cell: Hashable, Sendable {
    public var char: Character
    public var fg: CellColor
    public var bg: CellColor
    public var attrs: Attrs

    public struct Attrs: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let bold = Attrs(rawValue: 1)
        public static let dim = Attrs(rawValue: 2)
        public static let reverse = Attrs(rawValue: 4)
        public static let underline = Attrs(rawValue: 8)
    }

    public init(_ char: Character = " ", fg: CellColor = .terminalDefault, bg: CellColor = .terminalDefault, attrs: Attrs = []) {
        self.char = char; self.fg = fg; self.bg = bg; self.attrs = attrs
    }
}

public struct CellBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = [Cell](repeating: Cell(), count: self.width * self.height)
    }

    /// Reads outside the buffer give a blank cell; writes outside it are dropped, so drawing code
    /// clips at the edges without checking.
    public subscript(x: Int, y: Int) -> Cell {
        get { x >= 0 && y >= 0 && x < width && y < height ? cells[y * width + x] : Cell() }
        set { if x >= 0, y >= 0, x < width, y < height { cells[y * width + x] = newValue } }
    }

    /// Writes `text` from (x, y), clipped at the right edge or at `maxWidth` columns.
    public mutating func put(_ text: String, x: Int, y: Int, fg: CellColor = .terminalDefault, bg: CellColor = .terminalDefault,
                             attrs: Cell.Attrs = [], maxWidth: Int? = nil) {
        guard y >= 0, y < height else { return }
        var cx = x
        let limit = min(width, maxWidth.map { x + $0 } ?? width)
        for ch in text {
            if cx >= limit { break }
            if cx >= 0 { self[cx, y] = Cell(ch, fg: fg, bg: bg, attrs: attrs) }
            cx += 1
        }
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, with cell: Cell) {
        for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { self[xx, yy] = cell } }
    }

    /// Row y as plain text (trailing spaces kept).
    public func line(_ y: Int) -> String { String(cells[(y * width)..<((y + 1) * width)].map(\.char)) }

    public var text: String { (0..<height).map(line).joined(separator: "\n") }
}
