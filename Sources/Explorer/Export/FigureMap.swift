import Compression
import Engine

/// The PNG patch map: a figure like the paper's. The image itself first, then one panel per layer
/// with the overlay the explorer draws (`PatchOverlay`: groups of two or more patches tinted, no two
/// touching groups in one hue, pruned and dropped patches darkened and desaturated, a patch that runs
/// as its own token plain; panels are large enough for its outline of each center and lines between
/// groups), up to seven panels per row, each labelled with its layer and token counts ("L3 197>119>197").
///
/// Panels are at least 128 pixels wide (so a label like "L12 197>118>197" fits at 2x): a 28x28 image
/// is scaled by 5 (nearest neighbour, so each patch stays a crisp block), a 224x224 photo is drawn 1:1.
public enum FigureMap {
    static let margin = 8, labelHeight = 16, columns = 7

    public static func render(_ m: PatchMap, image: ExplorerImage) -> RGBImage {
        let s = image.size
        let scale = max(1, (128 + s - 1) / s)
        let panel = s * scale
        let count = m.layers.count + 1
        let cols = min(columns, count), rows = (count + cols - 1) / cols
        let width = margin + cols * (panel + margin)
        let height = margin + rows * (panel + labelHeight + margin)
        var out = RGBImage(width: width, height: height, pixels: [UInt8](repeating: 255, count: width * height * 3))
        for p in 0..<count {
            let x0 = margin + (p % cols) * (panel + margin), y0 = margin + (p / cols) * (panel + labelHeight + margin)
            let layer = p == 0 ? nil : m.layers[p - 1]
            drawPanel(&out, image: image, layer: layer, grid: m.header.grid, scale: scale, x0: x0, y0: y0)
            let label = layer.map { "L\($0.index) \($0.tokensIn)>\($0.tokensRun)>\($0.tokensOut)" } ?? "image"
            // 2x font when the label fits the panel, else 1x.
            let scale = label.count * 8 <= panel ? 2 : 1
            TinyFont.draw(label, into: &out, x: x0, y: y0 + panel + 4, scale: scale, maxWidth: panel)
        }
        return out
    }

    static func drawPanel(_ out: inout RGBImage, image: ExplorerImage, layer: PatchMap.Layer?, grid g: Int, scale: Int, x0: Int, y0: Int) {
        let s = image.size, panel = s * scale
        let patchPx = Double(panel) / Double(g)
        let overlay = layer.map { PatchOverlay(states: $0.states, grid: g) }
        let pixels = image.pixels  // once: the property may go through the image's loader
        for y in 0..<panel {
            for x in 0..<panel {
                let src = ((y / scale) * s + x / scale) * 3
                var c = RGB(Double(pixels[src]), Double(pixels[src + 1]), Double(pixels[src + 2]))
                if let overlay {
                    // Patch edges fall on whole pixels: patch k covers [start(k), start(k + 1)).
                    func start(_ k: Int) -> Int { Int(Double(k) * patchPx) }
                    let pr = min(g - 1, Int(Double(y) / patchPx)), pc = min(g - 1, Int(Double(x) / patchPx))
                    let side = start(pc + 1) - start(pc)
                    c = overlay.shade(c, patch: pr * g + pc, u: x - start(pc), v: min(side - 1, y - start(pr)), side: side, details: true)
                }
                let o = ((y0 + y) * out.width + x0 + x) * 3
                let q = c.rgb8
                out.pixels[o] = q.r; out.pixels[o + 1] = q.g; out.pixels[o + 2] = q.b
            }
        }
    }
}

/// A 3x5 pixel font for figure labels: digits, a few letters, '>', '-', '.', space.
enum TinyFont {
    static let glyphs: [Character: [String]] = [
        "0": ["###", "#.#", "#.#", "#.#", "###"], "1": [".#.", "##.", ".#.", ".#.", "###"],
        "2": ["###", "..#", "###", "#..", "###"], "3": ["###", "..#", "###", "..#", "###"],
        "4": ["#.#", "#.#", "###", "..#", "..#"], "5": ["###", "#..", "###", "..#", "###"],
        "6": ["###", "#..", "###", "#.#", "###"], "7": ["###", "..#", ".#.", ".#.", ".#."],
        "8": ["###", "#.#", "###", "#.#", "###"], "9": ["###", "#.#", "###", "..#", "###"],
        ">": ["#..", ".#.", "..#", ".#.", "#.."], "-": ["...", "...", "###", "...", "..."],
        ".": ["...", "...", "...", "...", ".#."], " ": ["...", "...", "...", "...", "..."],
        "L": ["#..", "#..", "#..", "#..", "###"], "i": [".#.", "...", ".#.", ".#.", ".#."],
        "m": ["...", "##.", "###", "#.#", "#.#"], "a": ["...", "##.", "..#", "###", "###"],
        "g": ["###", "#.#", "###", "..#", "##."], "e": ["###", "#.#", "###", "#..", "###"],
    ]

    /// Draws `text` in black from (x, y), each font pixel `scale` x `scale`, clipped at `maxWidth`.
    static func draw(_ text: String, into img: inout RGBImage, x: Int, y: Int, scale: Int, maxWidth: Int) {
        var cx = x
        for ch in text {
            guard let rows = glyphs[ch] else { cx += 4 * scale; continue }
            if cx + 3 * scale > x + maxWidth { break }
            for (ry, row) in rows.enumerated() {
                for (rx, bit) in row.enumerated() where bit == "#" {
                    for dy in 0..<scale { for dx in 0..<scale {
                        let px = cx + rx * scale + dx, py = y + ry * scale + dy
                        guard px >= 0, py >= 0, px < img.width, py < img.height else { continue }
                        let o = (py * img.width + px) * 3
                        img.pixels[o] = 0; img.pixels[o + 1] = 0; img.pixels[o + 2] = 0
                    } }
                }
            }
            cx += 4 * scale
        }
    }
}
