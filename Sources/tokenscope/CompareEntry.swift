import Compression

/// A model in `compare`'s table before it is scored: its row name, which block of the table it
/// belongs to, and what it was matched to.
struct CompareEntry {
    /// Off-the-shelf methods and the fine-tuned ones are compared within their own block (the
    /// dense model is the reference of both and listed with the training-free rows).
    enum Block: String {
        case trainingFree = "training-free"
        case fineTuned = "fine-tuned"
    }

    var name: String
    var model: AnyModel
    var block: Block
    /// The Prune and Merge plan's prune rate (Prune and Merge rows only).
    var prune: Double?
    /// The Prune and Merge row this one was matched to, and on what (`gflops`, `images_per_s_b1`,
    /// `images_per_s_b32`).
    var matchedTo: String?
    var matchedOn: [String] = []
}

/// One keep ratio's rows in `compare`, by index into the entries.
struct CompareBudget {
    var pmFree = 0
    var pmTuned: Int?
    /// Training-free rows matched on FLOPs, and fine-tuned ones (at the same settings).
    var others: [Int] = []
    var othersTuned: [Int] = []
    /// Rows matched on measured speed, with the speed they were matched on.
    var speedMatched: [(Int, String)] = []
}
