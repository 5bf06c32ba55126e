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
    /// The Prune and Merge row this one was matched to, and on what.
    var matchedTo: String?
    var matchedOn: [MatchKey] = []
}

/// The column on which `compare` brought a row close to a Prune and Merge row; its raw value is
/// the JSON key of that column.
enum MatchKey: String {
    case gflops
    case imagesPerSecondB1 = "images_per_s_b1"
    case imagesPerSecondB32 = "images_per_s_b32"

    static let speeds: [MatchKey] = [.imagesPerSecondB1, .imagesPerSecondB32]

    /// The measured speed this key matches on (nil for GFLOPs, which is not measured).
    func speed(_ s: Throughput) -> Double? {
        switch self {
        case .gflops: return nil
        case .imagesPerSecondB1: return s.b1
        case .imagesPerSecondB32: return s.b32
        }
    }
}

/// One keep ratio's rows in `compare`, by index into the entries.
struct CompareBudget {
    var pmFree = 0
    var pmTuned: Int?
    /// Training-free rows matched on FLOPs, and fine-tuned ones (at the same settings).
    var others: [Int] = []
    var othersTuned: [Int] = []
    /// Rows matched on measured speed, with the speed they were matched on.
    var speedMatched: [(row: Int, on: MatchKey)] = []
}
