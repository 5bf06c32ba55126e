/// How the score view maps a layer's gradient-weighted scores to its 0-9 heat scale.
///
/// Why percentiles and not score / max: the scores are heavy-tailed (on the shipped model one patch
/// often scores ten times the next), so a linear scale paints all but one patch 0. The plan itself
/// only compares scores (global thresholds over ranks), so the percentile is also what decides a
/// patch's fate: 9 is the top tenth of this layer's patches.
public enum ScoreScale {
    /// Each score's percentile in [0, 1]: the fraction of the other patches that score strictly less
    /// (tied scores share one value; a single patch gets 1). Non-finite scores count as the lowest.
    public static func percentiles(_ scores: [Float]) -> [Double] {
        let n = scores.count
        guard n > 1 else { return Array(repeating: 1, count: n) }
        let key = scores.map { $0.isFinite ? $0 : -Float.infinity }
        let order = key.indices.sorted { key[$0] < key[$1] }
        var out = [Double](repeating: 0, count: n)
        var below = 0
        for (pos, i) in order.enumerated() {
            if pos > 0 && key[order[pos - 1]] < key[i] { below = pos }
            out[i] = Double(below) / Double(n - 1)
        }
        return out
    }
}
