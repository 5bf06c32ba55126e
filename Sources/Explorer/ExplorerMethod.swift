import Compression

/// A method the explorer shows (`m` cycles through them, the methods layout puts them side by
/// side): one of `MethodRegistry`'s methods that has an explorer view, in the registry's order.
public struct ExplorerMethod: Hashable, @unchecked Sendable, CaseIterable {
    public let method: any CompressionMethod.Type

    public init(_ method: any CompressionMethod.Type) { self.method = method }

    /// The method's title, what the explorer shows.
    public var rawValue: String { method.title }

    public static func == (a: ExplorerMethod, b: ExplorerMethod) -> Bool { a.method.id == b.method.id }
    public func hash(into h: inout Hasher) { h.combine(method.id) }

    public static var allCases: [ExplorerMethod] { MethodRegistry.all.filter { $0.shownInExplorer }.map(ExplorerMethod.init) }

    /// The method the explorer opens on (and `r` goes back to): the registry's first shown.
    public static var first: ExplorerMethod { allCases.first ?? ExplorerMethod(Dense.self) }

    /// The method whose plans the prune, plan-source, grouping and recovery keys shape, for messages.
    static var planner: ExplorerMethod? { allCases.first { $0.method.plansFromScores } }
}
