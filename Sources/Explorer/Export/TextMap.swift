/// The text patch map: for people and diffs. A header, a legend, then per layer its token counts and
/// GFLOPs and two fixed-width grids side by side, one character per patch, rows as in the image:
/// the patch states (see `PatchMap.glyph`) and the restore error after the block (digit d: the
/// patch's restored token is d0-(d+1)0 % away from the dense model's, 9: 90 % or more).
/// Byte-identical for the same input: no timestamps, no locale-dependent number formatting.
public enum TextMap {
    public static func render(_ m: PatchMap) -> String {
        let h = m.header, g = h.grid
        var out = "# TokenScope \(h.version) patch map\n"
        out += "# model: \(h.model)\n"
        out += "# image: \(h.image) (\(h.imageSize)x\(h.imageSize), \(g)x\(g) patches of \(h.patchSize)x\(h.patchSize))\n"
        out += "# method: \(h.method)" + h.settings.map { "  \($0.key): \($0.value)" }.joined() + "\n"
        out += "# legend: \(PatchMap.legend)\n"
        out += "# right-hand grid: restore error after the block, floor(10 x ||x - x_dense|| / ||x_dense||), 9 = 90 % or more\n"
        out += "# GFLOPs per image: dense \(PatchMap.fixed(h.gflopsDense, 3)), compressed \(PatchMap.fixed(h.gflopsCompressed, 3))\n"
        for L in m.layers {
            out += "\n## layer \(L.index): tokens \(L.tokensIn) -> \(L.tokensRun) -> \(L.tokensOut), "
            out += L.dense ? "dense" : "\(L.groupCount) groups"
            out += ", \(PatchMap.fixed(L.gflops, 3)) GFLOPs\n"
            for y in 0..<g {
                var row = ""
                for x in 0..<g { row.append(PatchMap.glyph(L.states[y * g + x])) }
                row += "  "
                for x in 0..<g { row.append(PatchMap.errorDigit(L.restoreError[y * g + x])) }
                out += row + "\n"
            }
        }
        return out
    }
}
