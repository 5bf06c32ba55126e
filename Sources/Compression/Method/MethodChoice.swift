import Engine

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
