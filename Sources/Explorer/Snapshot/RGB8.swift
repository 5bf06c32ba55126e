/// An 8-bit sRGB colour, the unit `RGBImage` stores per pixel: what a snapshot paints cells with.
/// (`RGB` in Palette.swift is the Double-valued colour the palette computes in; this one is what
/// ends up in the PNG, so it holds exactly the bytes written.)
public struct RGB8: Equatable, Sendable {
    public var r, g, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
}
