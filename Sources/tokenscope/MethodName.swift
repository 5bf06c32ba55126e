import ArgumentParser
import Compression

/// A `--method` value: one of `MethodRegistry`'s methods, by its id, so the values `--help` lists
/// and the ones that parse are the registry's.
struct MethodName: ExpressibleByArgument {
    let method: any CompressionMethod.Type

    init?(argument: String) {
        guard let m = MethodRegistry.method(id: argument) else { return nil }
        method = m
    }

    static var allValueStrings: [String] { MethodRegistry.ids }

    var id: String { method.id }

    /// "dense (every block on every token...); pm (...); ...", each method's summary.
    static var help: String { MethodRegistry.all.map { "\($0.id) (\($0.summary))" }.joined(separator: "; ") }
}
