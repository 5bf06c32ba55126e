import Engine
import Foundation

/// A method picked to run a model, with its settings: what `--method` and its options resolve
/// to, before the model is loaded.
public struct MethodChoice: @unchecked Sendable {
    public let method: any CompressionMethod.Type
    /// The method on a dense model; nil for a method that runs its own files only (`--method pm`
    /// runs a Prune and Merge file's plan as it is).
    let apply: ((ViTModel) throws -> any CompressedModel)?

    /// `method` with `settings`, applied to whatever dense model it is given.
    public init<M: CompressionMethod>(_ method: M.Type, settings: M.Settings) {
        self.method = method
        apply = { try M.model(dense: $0, settings: settings) }
    }

    /// `method` at its `defaultSettings`, or its own files (`ownsFile`) when it has none.
    public init(defaultsOf method: any CompressionMethod.Type) {
        self = method.defaultChoice
    }

    /// A file of `method`'s own (`ownsFile`), run as the file says.
    public init(fileOf method: any CompressionMethod.Type) {
        self.method = method
        apply = nil
    }
}

extension MethodChoice {
    /// The metadata keys a dense file fine-tuned under a method carries (`finetune --method`): the
    /// method's id and its settings as `MethodArguments` JSON, so the file runs as it was trained.
    public static let methodKey = "method", argumentsKey = "method_arguments"

    /// The keys that record `method` with `arguments`.
    public static func metadata(method: any CompressionMethod.Type, arguments: MethodArguments) throws -> [String: String] {
        [methodKey: method.id, argumentsKey: try stableJSON(arguments)]
    }

    /// The method a file's metadata records, or nil when it records none (`source` names the file
    /// in errors).
    public static func recorded(in metadata: [String: String], source: String) throws -> MethodChoice? {
        guard let id = metadata[methodKey] else { return nil }
        guard let method = MethodRegistry.method(id: id) else {
            throw EngineError("\(source) records method \"\(id)\", which this TokenScope does not know; run it with --method")
        }
        let arguments: MethodArguments
        do {
            arguments = try JSONDecoder().decode(MethodArguments.self, from: Data((metadata[argumentsKey] ?? "{}").utf8))
        } catch {
            throw EngineError("\(source): its \(argumentsKey) metadata is damaged (\(error)); run it with --method and its settings")
        }
        do {
            return try method.choice(from: arguments)
        } catch let e as MethodArgumentError {
            throw EngineError("\(source): the recorded \(id) settings do not apply (\(e.description)); run it with --method and its settings")
        }
    }
}
