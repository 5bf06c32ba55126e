/// What the explorer draws into: a plain grid of cells (character, colours, attributes) that tests
/// read as text and the terminal backend copies to the screen. Colours are palette indices in
/// 0...255 (the backend maps them to what the terminal has); -1 is the terminal's default.
public struct Cell: Equatable, Sendable {
    public var char: Character
    public var fg: Int
    public var bg: Int
    public var attrs: Attrs

    public struct Attrs: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let bold = Attrs(rawValue: 1)
        public static let dim = Attrs(rawValue: 2)
        public static let reverse = Attrs(rawValue: 4)
        public static let underline = Attrs(rawValue: 8)
    }

    public init(_ char: Character = " ", fg: Int = -1, bg: Int = -1, attrs: Attrs = []) {
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

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { if x >= 0, y >= 0, x < width, y < height { cells[y * width + x] = newValue } }
    }

    /// Writes `text` from (x, y), clipped at the right edge or at `maxWidth` columns.
    public mutating func put(_ text: String, x: Int, y: Int, fg: Int = -1, bg: Int = -1, attrs: Cell.Attrs = [], maxWidth: Int? = nil) {
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
