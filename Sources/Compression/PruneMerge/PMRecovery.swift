import Engine

/// How a compressed block hands its result back to the full token grid.
///
/// `official` is the paper's code: kept tokens are *replaced* by recover @ block(merge @ x), so the
/// residual stream of every kept token becomes its group's projection (pinv(M) M is the orthogonal
/// projection onto the span of the merge rows). A member with weight w gets w / sum(w^2) times the
/// group's merged token instead of its own features, and this happens again in every compressed
/// block. Only pruned tokens keep their own features (x_res).
///
/// `update` (TokenScope's plans, the default of `compress`) restores only what the block *adds*:
/// out = x + recover @ (block(m) - m) with m = merge @ x. Every token keeps its own residual stream;
/// group members share their group's attention and MLP update, pruned tokens (zero rows of recover)
/// still skip the block bit-identically, and the matrices, the token counts and the FLOPs are the same.
/// On the shipped model it keeps 3-6 points more top-1 before fine-tuning (README, "Recovery").
///
/// A file records its mode in the metadata key `recovery`; files without it (official checkpoints)
/// run `official`.
public enum PMRecovery: String, Sendable, CaseIterable {
    case official, update

    public static let metadataKey = "recovery"

    /// The mode a file's metadata asks for; a value TokenScope does not know is an error.
    public static func from(metadata: [String: String], path: String) throws -> PMRecovery {
        guard let v = metadata[metadataKey] else { return .official }
        guard let r = PMRecovery(rawValue: v) else {
            throw EngineError("\(path): metadata recovery = \"\(v)\" is not official or update; fix the file's metadata")
        }
        return r
    }
}
