import Compression
import Explorer

/// The explorer's methods by name, as the tests pick them (the sources take them from the
/// registry and never name one).
extension ExplorerMethod {
    static let pruneMerge = ExplorerMethod(PruneAndMerge.self)
    static let tome = ExplorerMethod(ToMe.self)
    static let evit = ExplorerMethod(EViT.self)
    static let pitome = ExplorerMethod(PiToMe.self)
    static let diffrate = ExplorerMethod(DiffRate.self)
}
