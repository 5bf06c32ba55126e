import Compression
import Engine

/// The PNG patch map: a figure like the paper's. The image itself first, then one panel per layer
/// with the overlay the explorer draws (group colours over centers and members, pruned and dropped
/// patches darkened, a light outline around each group center, a line where neighbouring patches
/// belong to different groups; a group of one patch is drawn plain, like a token kept alone), up to
/// seven panels per row, each labelled with its layer and token counts ("L3 197>119>197").
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
        func patch(_ x: Int, _ y: Int) -> Int { min(g - 1, Int(Double(y) / patchPx)) * g + min(g - 1, Int(Double(x) / patchPx)) }
        // A group of one patch is drawn like a token kept alone: no tint, no outline, no border
        // (Prune and Merge plans have many; outlining them all would hide the real groups).
        var size: [Int: Int] = [:]
        for g in layer?.groups ?? [] where g >= 0 { size[g, default: 0] += 1 }
        let groups = (layer?.groups ?? []).map { g in g >= 0 && (size[g] ?? 0) > 1 ? g : -1 }
        for y in 0..<panel {
            for x in 0..<panel {
                let src = ((y / scale) * s + x / scale) * 3
                var c = RGB(Double(image.pixels[src]), Double(image.pixels[src + 1]), Double(image.pixels[src + 2]))
                if let layer {
                    let j = patch(x, y), st = layer.states[j]
                    let single = st.group != nil && groups[j] < 0
                    if !single, let t = Palette.tint(st) { c = c.mixed(with: t.color, t.amount) }
                    // Group boundaries: a dark line where the right or lower neighbour is in another group.
                    let right = x + 1 < panel ? patch(x + 1, y) : j, below = y + 1 < panel ? patch(x, y + 1) : j
                    if (right != j && groups[right] != groups[j] && (groups[j] >= 0 || groups[right] >= 0)) ||
                        (below != j && groups[below] != groups[j] && (groups[j] >= 0 || groups[below] >= 0)) {
                        c = RGB(30, 30, 30)
                    }
                    // Centers of real groups: a light outline inside the patch.
                    if case .center = st, !single {
                        let px = Double(x) - Double(j % g) * patchPx, py = Double(y) - Double(j / g) * patchPx
                        if px < 1 || py < 1 || px >= patchPx - 1 || py >= patchPx - 1 { c = RGB(250, 250, 250) }
                    }
                }
                let o = ((y0 + y) * out.width + x0 + x) * 3
                out.pixels[o] = UInt8(max(0, min(255, c.r.rounded())))
                out.pixels[o + 1] = UInt8(max(0, min(255, c.g.rounded())))
                out.pixels[o + 2] = UInt8(max(0, min(255, c.b.rounded())))
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
