/// What one block of a token-compression method did with one original patch: the common language
/// of the explorer, the exports and every method (Prune and Merge, ToMe, EViT, PiToMe, DiffRate).
///
/// Group ids are per layer, 0-based, in raster order of the group's center.
public enum PatchState: Sendable, Equatable, Hashable {
    /// Runs through the block as its own token (a dense block, a ToMe token holding one patch, a
    /// token EViT keeps).
    case kept
    /// Represents group `g` (Prune and Merge: weight 1; ToMe: the token the others merged into).
    case center(group: Int)
    /// Folded into group `g` with this weight (Prune and Merge: score / center score; ToMe: 1 / size).
    case merged(group: Int, weight: Float)
    /// Prune and Merge: skips the block through the shortcut and comes back unchanged.
    case pruned
    /// Prune and Merge: kept by the thresholds but with no center to join (grid grouping, a row
    /// without centers, or a block with no centers at all): passes through unchanged, like `pruned`.
    case unassigned
    /// EViT: fused into the one extra token by its CLS attention and gone from here on.
    case dropped
    /// DiffRate: pruned by its CLS attention and gone from here on: no token holds it (the restored
    /// grid keeps the value it entered that block with).
    case discarded

    /// The group this patch belongs to, if any.
    public var group: Int? {
        switch self {
        case .center(let g), .merged(let g, _): return g
        default: return nil
        }
    }

    /// The lower-case word the exports use.
    public var word: String {
        switch self {
        case .kept: return "kept"
        case .center: return "center"
        case .merged: return "merged"
        case .pruned: return "pruned"
        case .unassigned: return "unassigned"
        case .dropped: return "dropped"
        case .discarded: return "discarded"
        }
    }
}
