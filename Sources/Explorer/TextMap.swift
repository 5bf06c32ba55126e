import Compression
import Engine

/// The text patch map: for people and diffs. A header, a legend, then per layer a fixed-width grid
/// of the patches (one character per patch, rows as in the image) with the layer's token counts and
/// GFLOPs. Groups are letters (upper case = center, lower case = member; the alphabet repeats past 26
/// groups, and the per-layer line says how many groups there are), '.' pruned, ':' kept with no
/// center, '#' a block that runs densely. The same input gives byte-identical output.
public enum TextMap {
    public static func render(version: String, modelName: String, imageName: String, state s: ExplorerState,
                              analysis a: Analysis, grid g: Int) -> String {
        var out = "# TokenScope \(version) patch map\n"
        out += "# model: \(modelName)\n# image: \(imageName)\n"
        out += s.scoreSource == .file
            ? "# method: \(s.method.rawValue)  plan: from the PM file\n"
            : "# method: \(s.method.rawValue)  keep: \(fmt(s.keep))  prune: \(fmt(s.prune))  grouping: grid  scores: \(s.scoreSource.rawValue)\n"
        out += "# legend: A-Z group center, a-z member of that group, . pruned (skips the block), : kept but no center (skips the block), # dense block\n"
        out += "# GFLOPs per image: dense \(fmt3(a.gflopsDense)), compressed \(fmt3(a.gflopsCompressed))\n"
        for (l, layer) in a.layers.enumerated() {
            let groups = layer.tokensRun - (layer.tokensIn - g * g)
            out += "\n## layer \(l + 1): tokens \(layer.tokensIn) -> \(layer.tokensRun) -> \(layer.tokensOut), \(groups) groups, \(fmt3(layer.gflops)) GFLOPs\n"
            for y in 0..<g {
                var row = ""
                for x in 0..<g { row.append(layer.states.map { Renderer.glyph($0[y * g + x]) } ?? "#") }
                out += row + "\n"
            }
        }
        return out
    }

    static func fmt(_ v: Double) -> String { String(format: "%.2f", v) }
    static func fmt3(_ v: Double) -> String { String(format: "%.3f", v) }
}

import Foundation
