/// Analyses already computed, by the settings they were computed for, so going back to a keep
/// ratio, a method or an image seen a moment ago redraws at once; and which analyses the screen
/// needs for a state (its own, and in the methods layout each method's at the same settings).
public struct AnalysisStore: Sendable {
    public private(set) var entries: [Analysis] = []
    /// Enough for every method at a few settings of a few images; an analysis is small (per layer
    /// a few numbers per patch).
    public static let capacity = 32

    public init() {}

    public func analysis(for s: ExplorerState) -> Analysis? {
        let key = Analysis.Key(s)
        return entries.last { $0.key == key }
    }

    public mutating func insert(_ a: Analysis) {
        entries.removeAll { $0.key == a.key }
        entries.append(a)
        if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
    }

    /// The states whose analyses the screen shows for `s`, the state's own first.
    public static func needed(for s: ExplorerState) -> [ExplorerState] {
        guard s.layout == .methods else { return [s] }
        return [s] + ExplorerState.Method.allCases.filter { $0 != s.method }.map { m in
            var t = s
            t.method = m
            return t
        }
    }

    /// The first state the screen needs that has no analysis yet.
    public func missing(for s: ExplorerState) -> ExplorerState? {
        Self.needed(for: s).first { analysis(for: $0) == nil }
    }

    /// Computes, now, every analysis the screen needs for `s` that is not here yet (the snapshot and
    /// the tests; the terminal asks for them one by one off the key loop).
    public mutating func fill(for s: ExplorerState, using engine: ExplorerEngine) throws {
        while let want = missing(for: s) { insert(try engine.analyse(want)) }
    }

    /// The other methods' analyses the methods layout shows beside the state's own.
    public func methodAnalyses(for s: ExplorerState) -> [ExplorerState.Method: Analysis] {
        var out: [ExplorerState.Method: Analysis] = [:]
        for t in Self.needed(for: s).dropFirst() { out[t.method] = analysis(for: t) }
        return out
    }
}
