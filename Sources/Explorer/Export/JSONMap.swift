import Engine

/// The JSON patch map: one object for scripts. Keys are sorted (stable output); arrays run over
/// patches row-major (CLS excluded). The README documents every field.
public enum JSONMap {
    public static func render(_ m: PatchMap) -> String {
        let h = m.header
        var settings: [String: Any] = [:]
        for (k, v) in h.settings { settings[k] = Double(v) ?? v }
        let layers: [Any] = m.layers.map { L in
            let map = String(L.states.map(PatchMap.glyph))
            return [
                "layer": L.index, "tokens_in": L.tokensIn, "tokens_run": L.tokensRun, "tokens_out": L.tokensOut,
                "gflops": L.gflops, "dense": L.dense, "groups": L.groupCount, "map": map,
                "state": L.states.map(\.word), "group": L.groups, "center": L.centers,
                "weight": L.weights, "score": L.scores, "restore_error": L.restoreError,
            ] as [String: Any]
        }
        let doc: [String: Any] = [
            "tool": "tokenscope", "version": h.version, "model": h.model, "image": h.image,
            "image_size": h.imageSize, "patch_size": h.patchSize, "grid": [h.grid, h.grid],
            "method": h.method, "settings": settings,
            "gflops_dense": h.gflopsDense, "gflops_compressed": h.gflopsCompressed, "layers": layers,
        ]
        return JSONLinesLog.encode(doc) + "\n"
    }
}
