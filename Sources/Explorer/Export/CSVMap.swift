/// The CSV patch map, long format: one row per layer and patch,
/// `layer,patch,row,col,state,group,center,score,weight,restore_error` (the first eight columns as
/// the issue asks; merge weight and restore error follow). Layers from 1, patches from 0, -1 = none.
public enum CSVMap {
    public static let columns = "layer,patch,row,col,state,group,center,score,weight,restore_error"

    public static func render(_ m: PatchMap) -> String {
        let g = m.header.grid
        var out = columns + "\n"
        for L in m.layers {
            for j in L.states.indices {
                out += "\(L.index),\(j),\(j / g),\(j % g),\(L.states[j].word),\(L.groups[j]),\(L.centers[j]),"
                out += "\(L.scores[j]),\(L.weights[j]),\(L.restoreError[j])\n"
            }
        }
        return out
    }
}
