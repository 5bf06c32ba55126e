import Compression

/// Colours the explorer uses, by terminal capability. Image colours stay out of palette entries 0-15,
/// which terminals remap; they use the 6x6x6 cube (16-231) and the grey ramp (232-255), nearest in
/// RGB as tmux maps truecolour. With 8 colours the image is drawn in grey glyph density instead, and
/// without colour only glyphs and bold/dim/reverse carry meaning.
public enum ColorMode: String, Sendable, CaseIterable {
    case none, eight = "8", c256 = "256"
}

public struct RGB: Equatable, Sendable {
    public var r: Double, g: Double, b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
    public func mixed(with o: RGB, _ t: Double) -> RGB { RGB(r + (o.r - r) * t, g + (o.g - g) * t, b + (o.b - b) * t) }
}

public enum Palette {
    /// Distinct group hues (0...255 RGB); neighbouring group ids get different entries.
    public static let groupColors: [RGB] = [
        RGB(230, 80, 80), RGB(80, 170, 240), RGB(240, 200, 60), RGB(110, 200, 110), RGB(200, 110, 230), RGB(250, 140, 50),
        RGB(70, 210, 200), RGB(240, 120, 180), RGB(160, 160, 250), RGB(180, 220, 90), RGB(220, 160, 120), RGB(120, 140, 200),
    ]
    /// Basic colours (8-colour terminals) for groups: red, green, yellow, blue, magenta, cyan.
    public static let groupBasic = [1, 2, 3, 4, 5, 6]

    static let cubeLevels: [Double] = [0, 95, 135, 175, 215, 255]

    /// Nearest xterm-256 index (16-255) to an RGB colour.
    public static func index256(_ c: RGB) -> Int {
        func nearestLevel(_ v: Double) -> Int {
            var best = 0
            for i in 1..<6 where abs(cubeLevels[i] - v) < abs(cubeLevels[best] - v) { best = i }
            return best
        }
        let ri = nearestLevel(c.r), gi = nearestLevel(c.g), bi = nearestLevel(c.b)
        let cube = RGB(cubeLevels[ri], cubeLevels[gi], cubeLevels[bi])
        let grey = (c.r + c.g + c.b) / 3
        guard grey.isFinite else { return 16 }
        let gIdx = max(0, min(23, Int(((grey - 8) / 10).rounded())))
        let greyRGB = RGB(Double(8 + 10 * gIdx), Double(8 + 10 * gIdx), Double(8 + 10 * gIdx))
        func d(_ a: RGB, _ b: RGB) -> Double { (a.r - b.r) * (a.r - b.r) + (a.g - b.g) * (a.g - b.g) + (a.b - b.b) * (a.b - b.b) }
        return d(c, cube) <= d(c, greyRGB) ? 16 + 36 * ri + 6 * gi + bi : 232 + gIdx
    }

    /// How a patch state tints the image under it (explorer and PNG figure alike): group colour for
    /// centers and members (stronger in the group view), dark for tokens that skip or leave the
    /// block; nil for tokens that run as themselves.
    public static func tint(_ st: PatchState, groupView: Bool = false) -> (color: RGB, amount: Double)? {
        switch st {
        case .center(let g): return (groupColors[g % groupColors.count], groupView ? 1 : 0.3)
        case .merged(let g, _): return (groupColors[g % groupColors.count], groupView ? 0.8 : 0.45)
        case .pruned: return (RGB(25, 25, 25), 0.75)
        case .unassigned: return (RGB(60, 60, 60), 0.6)
        case .dropped: return (RGB(0, 0, 0), 0.9)
        case .kept: return nil
        }
    }

    /// Heat colour for a value in [0, 1] (blue -> yellow -> red).
    public static func heat(_ v: Double) -> RGB {
        let t = v.isFinite ? max(0, min(1, v)) : 1
        return t < 0.5 ? RGB(30, 60, 200).mixed(with: RGB(240, 220, 60), t * 2) : RGB(240, 220, 60).mixed(with: RGB(220, 40, 40), (t - 0.5) * 2)
    }

    /// ASCII density ramp, dark to dense, for images without colour. None of these is a state glyph
    /// (letters, ".", ":", "#", "-"), so a patch's glyph never reads as image texture.
    public static let ramp: [Character] = [" ", "'", ",", ";", "=", "+", "*", "%", "@"]
}
