import Foundation

/// What colour the terminal can show, decided once at start-up. Image colours never use palette
/// entries 0-15, which terminals remap: truecolor draws the RGB itself, 256 colours the nearest
/// entry of the 6x6x6 cube and the grey ramp (16-255) in a perceptual space. With 8 colours the
/// image is drawn in grey glyph density instead, and without colour only glyphs and
/// bold/dim/reverse carry meaning.
public enum ColorMode: String, Sendable, CaseIterable {
    case none, eight = "8", c256 = "256", truecolor

    /// Whether the image itself is drawn in colour (otherwise as glyph density).
    public var drawsPicture: Bool { self == .c256 || self == .truecolor }

    /// An image colour as this mode draws it (the default colour where the mode draws no picture).
    public func color(_ c: RGB) -> CellColor {
        switch self {
        case .truecolor: return .rgb(c.rgb8)
        case .c256: return .palette(Palette.index256(c))
        case .eight, .none: return .terminalDefault
        }
    }

    /// A picture pixel at (x, y) of its map. In 256 colours it is ordered-dithered first: the cube's
    /// steps are 40 levels apart, so without dithering a blended patch or a smooth photo turns into
    /// flat blocks. A fixed 4x4 Bayer matrix, not error diffusion, so a pixel's colour depends on
    /// itself and its position only: the same patch looks the same in every layer and every frame.
    func pictureColor(_ c: RGB, x: Int, y: Int) -> CellColor {
        guard self == .c256 else { return color(c) }
        let t = (Double(Palette.bayer4[(y & 3) * 4 + (x & 3)]) + 0.5) / 16 - 0.5
        let d = t * Palette.ditherAmplitude
        return .palette(Palette.index256(RGB(c.r + d, c.g + d, c.b + d)))
    }
}

/// An sRGB colour with components in 0...255, as Double so blending does not round twice.
public struct RGB: Equatable, Sendable {
    public var r: Double, g: Double, b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
    public func mixed(with o: RGB, _ t: Double) -> RGB { RGB(r + (o.r - r) * t, g + (o.g - g) * t, b + (o.b - b) * t) }
    public func scaled(_ f: Double) -> RGB { RGB(r * f, g * f, b * f) }
    /// Rec. 601 luma in 0...255, what the grey glyph ramp and the desaturation use.
    public var luma: Double { r * 0.299 + g * 0.587 + b * 0.114 }
    public var rgb8: RGB8 {
        func q(_ v: Double) -> UInt8 { v.isFinite ? UInt8(max(0, min(255, v.rounded()))) : 0 }
        return RGB8(q(r), q(g), q(b))
    }
}

public enum Palette {
    /// The 4x4 Bayer threshold matrix, row-major.
    static let bayer4: [Int] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5]
    /// Dither spread in 0...255 levels: about one cube step.
    static let ditherAmplitude = 28.0

    /// Basic colours (8-colour terminals) for groups: red, green, yellow, blue, magenta, cyan.
    public static let groupBasic = [1, 2, 3, 4, 5, 6]

    static let cubeLevels: [Double] = [0, 95, 135, 175, 215, 255]

    /// The 240 colours of xterm's palette that terminals agree on: index 16 + i.
    static let stable: [RGB] = {
        var out: [RGB] = []
        for i in 0..<216 { out.append(RGB(cubeLevels[i / 36], cubeLevels[(i / 6) % 6], cubeLevels[i % 6])) }
        for i in 0..<24 {
            let v = Double(8 + 10 * i)
            out.append(RGB(v, v, v))
        }
        return out
    }()
    static let stableLab: [OKLab] = stable.map(OKLab.init)

    /// Nearest of the 240 stable entries per 5-bit RGB bin (32^3), built on first use: a frame at
    /// 200x60 looks up 24,000 pixels, which must not cost a search each.
    static let table256: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 32 * 32 * 32)
        for r in 0..<32 { for g in 0..<32 { for b in 0..<32 {
            let c = RGB(Double(r * 255) / 31, Double(g * 255) / 31, Double(b * 255) / 31)
            t[(r * 32 + g) * 32 + b] = UInt8(nearestStable(c))
        } } }
        return t
    }()

    /// Index into `stable` of the entry nearest to `c` in OKLab. Cube candidates are the levels
    /// within one step of the two bracketing each channel (a perceptual nearest never lies further),
    /// and the whole grey ramp.
    static func nearestStable(_ c: RGB) -> Int {
        func around(_ v: Double) -> ClosedRange<Int> {
            let above = cubeLevels.firstIndex { $0 >= v } ?? 5
            return max(0, above - 2)...min(5, above + 1)
        }
        let lab = OKLab(c)
        var best = 0, bestD = Double.infinity
        for ri in around(c.r) { for gi in around(c.g) { for bi in around(c.b) {
            let i = 36 * ri + 6 * gi + bi, d = lab.distance2(stableLab[i])
            if d < bestD { bestD = d; best = i }
        } } }
        for i in 216..<240 { let d = lab.distance2(stableLab[i]); if d < bestD { bestD = d; best = i } }
        return best
    }

    /// Nearest xterm-256 index (16-255) to an RGB colour, in OKLab: exact for the centre of the
    /// colour's 5-bit bin, so within 4 levels a channel of exact (a tenth of a cube step; the 256-colour
    /// picture is dithered by more than that anyway).
    public static func index256(_ c: RGB) -> Int {
        func bin(_ v: Double) -> Int { v.isFinite ? max(0, min(31, Int((v * 31 / 255).rounded()))) : 0 }
        return 16 + Int(table256[(bin(c.r) * 32 + bin(c.g)) * 32 + bin(c.b)])
    }

    /// The RGB an xterm palette index stands for (the standard xterm values for 0-15).
    public static func rgb(ofIndex i: Int) -> RGB {
        let base: [RGB] = [RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0), RGB(0, 0, 238), RGB(205, 0, 205),
                           RGB(0, 205, 205), RGB(229, 229, 229), RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0),
                           RGB(255, 255, 0), RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255)]
        if i < 16 { return base[max(0, i)] }
        return stable[min(239, i - 16)]
    }

    /// Heat colour for a value in [0, 1] (blue -> yellow -> red).
    public static func heat(_ v: Double) -> RGB {
        let t = v.isFinite ? max(0, min(1, v)) : 1
        return t < 0.5 ? RGB(30, 60, 200).mixed(with: RGB(240, 220, 60), t * 2) : RGB(240, 220, 60).mixed(with: RGB(220, 40, 40), (t - 0.5) * 2)
    }

    /// ASCII density ramp, dark to dense, for images without colour. None of these is a state glyph
    /// (letters, ".", ":", "#", "-"), so a patch's glyph never reads as image texture.
    public static let ramp: [Character] = [" ", "'", ",", ";", "=", "+", "*", "%", "@"]

    /// The ramp character for a colour's luma.
    static func rampChar(_ c: RGB) -> Character {
        ramp[max(0, min(ramp.count - 1, Int(c.luma / 255 * Double(ramp.count))))]
    }
}

/// A colour in OKLab (Björn Ottosson's perceptual space): Euclidean distance there follows how
/// different two colours look, which RGB distance does not (RGB picks greys for dark saturated colours).
struct OKLab {
    var l: Double, a: Double, b: Double

    init(_ c: RGB) {
        let r = SRGB.linear(c.r / 255), g = SRGB.linear(c.g / 255), bl = SRGB.linear(c.b / 255)
        let lm = Foundation.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * bl)
        let m = Foundation.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * bl)
        let s = Foundation.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * bl)
        l = 0.2104542553 * lm + 0.7936177850 * m - 0.0040720468 * s
        a = 1.9779984951 * lm - 2.4285922050 * m + 0.4505937099 * s
        b = 0.0259040371 * lm + 0.7827717662 * m - 0.8086757660 * s
    }

    func distance2(_ o: OKLab) -> Double { (l - o.l) * (l - o.l) + (a - o.a) * (a - o.a) + (b - o.b) * (b - o.b) }
}

/// The sRGB transfer curve, both ways, on values in 0...1.
enum SRGB {
    static func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : Foundation.pow((c + 0.055) / 1.055, 2.4) }
    static func encoded(_ v: Double) -> Double { v <= 0.0031308 ? v * 12.92 : 1.055 * Foundation.pow(v, 1 / 2.4) - 0.055 }
}
