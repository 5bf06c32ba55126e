/// A rectangle of cells on the screen.
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    /// The left `w` columns and the rest, `gap` columns apart.
    func splitLeft(_ w: Int, gap: Int = 0) -> (Rect, Rect) {
        let l = min(width, max(0, w))
        return (Rect(x: x, y: y, width: l, height: height), Rect(x: x + l + gap, y: y, width: width - l - gap, height: height))
    }
}

/// The screen's areas, declared once for every layout: a title bar, a blank line, the body, the
/// status line and the footer of keys.
struct ScreenAreas {
    let title: Rect, body: Rect, status: Rect, footer: Rect

    init(width: Int, height: Int) {
        title = Rect(x: 0, y: 0, width: width, height: 1)
        body = Rect(x: 1, y: 2, width: width - 2, height: height - 4)
        status = Rect(x: 1, y: height - 2, width: width - 2, height: 1)
        footer = Rect(x: 0, y: height - 1, width: width, height: 1)
    }
}

/// The size of a patch map on screen. A cell is one pixel wide and two tall (half blocks; a cell is
/// about twice as tall as wide, so the pixels are square); a patch is `pixels` pixels on a side, so
/// an even `pixels` puts patch edges on cell edges.
struct MapGeometry: Equatable {
    let grid: Int, pixels: Int
    var columns: Int { grid * pixels }
    var rows: Int { (grid * pixels + 1) / 2 }
    /// Cells one patch covers (with `pixels` 1, two patches share a cell).
    var cellsPerPatch: Int { pixels * max(1, pixels / 2) }

    /// The patch under cell (x, y) of the map, counted from its top-left cell; nil outside it (or in
    /// the half row below an odd number of one-pixel patches).
    func patch(atX x: Int, y: Int) -> Int? {
        guard x >= 0, y >= 0, x < columns, y < rows, 2 * y < grid * pixels else { return nil }
        return (2 * y / pixels) * grid + x / pixels
    }

    /// The largest map of `grid` patches that fits `columns` x `rows` cells, pixels per patch from
    /// the even sizes down to `minPixels` (1 allows two patches per cell, for overviews); nil when
    /// not even that fits.
    static func largest(grid: Int, columns: Int, rows: Int, minPixels: Int = 2) -> MapGeometry? {
        guard grid > 0 else { return nil }
        var p = max(2, (columns / grid) & ~1)
        while p >= 2 {
            let m = MapGeometry(grid: grid, pixels: p)
            if m.columns <= columns && m.rows <= rows { return m }
            p -= 2
        }
        let one = MapGeometry(grid: grid, pixels: 1)
        return minPixels <= 1 && one.columns <= columns && one.rows <= rows ? one : nil
    }
}
