import ArgumentParser
import Compression
import Engine

/// `--method` and its settings, shared by `infer`, `eval`, `bench` and `probe`: how a model file
/// runs (dense, its Prune and Merge plan, or a training-free method on its dense weights).
struct MethodOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How to run the model: \(MethodName.help). Default: what the file is, pm for files with merge matrices, dense otherwise.",
        valueName: MethodName.allValueStrings.joined(separator: "|"))) var method: MethodName?
    @OptionGroup var settings: MethodArgumentOptions

    func validate() throws {
        do {
            _ = try resolved()
        } catch let e as MethodArgumentError {
            throw ValidationError(e.description)
        }
    }

    /// The method with its settings (nil: as the file is; block ranges are checked against the
    /// model when it loads).
    func resolved() throws -> MethodChoice? {
        let a = try settings.parsed()
        guard let method else {
            if let first = a.given.first {
                let takers = MethodArguments.takers(of: first)
                throw MethodArgumentError("\(first.rawValue) is a setting of \(takers.joined(separator: ", ")): add --method \(takers.first ?? "")")
            }
            return nil
        }
        return try method.method.choice(from: a)
    }

    /// Loads `path` and applies the method.
    func load(_ path: String, heads: Int? = nil) throws -> AnyModel {
        try AnyModel(path: path, heads: heads, method: try resolved())
    }

    /// A dense model in memory (`bench --arch`) with the method applied.
    func apply(to model: ViTModel) throws -> AnyModel {
        try AnyModel(dense: model, method: try resolved())
    }
}
