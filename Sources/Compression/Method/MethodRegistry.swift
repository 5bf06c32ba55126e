/// Every method the tool knows, in the order `--help`, the explorer's `m` key and the tables show
/// them. Adding a method is adding its line here.
public enum MethodRegistry {
    public static var all: [any CompressionMethod.Type] {
        [
            Dense.self,
            PruneAndMerge.self,
            ToMe.self,
            EViT.self,
            PiToMe.self,
            DiffRate.self,
        ]
    }

    /// The method whose `--method` value is `id`.
    public static func method(id: String) -> (any CompressionMethod.Type)? {
        all.first { $0.id == id }
    }

    /// The `--method` values, for help and messages ("dense|pm|tome|...").
    public static var ids: [String] { all.map { $0.id } }
}
