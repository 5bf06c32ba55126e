import Engine
import Foundation

/// Per-block token counts given as two lists, in the form DiffRate publishes its searched rates
/// (`compression_rate.json`): per block, the tokens kept by pruning and the tokens left after
/// merging, both absolute and counting CLS. A block's output keeps min(tokens in, prune, merge).
/// DiffRate runs both steps; ToMe and EViT read only the tokens each block leaves (`--schedule`
/// gives them any per-block counts).
///
/// Files `load` reads (JSON):
///
///     {"prune_kept_num": [197, 196, ...], "merge_kept_num": [197, 194, ...]}
///     {"tokens": [197, 190, ...]}                       the tokens each block leaves (both lists)
///     {"ViT-S-DeiT": {"2.9": {"prune_kept_num": ..., "merge_kept_num": ...}, ...}, ...}
///                                                        DiffRate's file: FILE:ViT-S-DeiT/2.9 picks one
///
/// A list may also be a string holding the list (`"[197,196]"`), as DiffRate's file has them, and
/// a prune list may be `"None"` (no pruning).
public struct TokenSchedule: Sendable, Equatable, Codable {
    /// Per block: tokens kept by pruning (CLS included).
    public var pruneKept: [Int]
    /// Per block: tokens left after merging (CLS included).
    public var mergeKept: [Int]
    /// A short name for row labels (`s2.9`, or the file's name).
    public var label: String

    public init(pruneKept: [Int], mergeKept: [Int], label: String) {
        self.pruneKept = pruneKept; self.mergeKept = mergeKept; self.label = label
    }

    /// One list for both steps: the tokens each block leaves.
    public init(tokens: [Int], label: String) { self.init(pruneKept: tokens, mergeKept: tokens, label: label) }

    public var depth: Int { pruneKept.count }

    /// Per block: tokens in (its attention) and out (its MLP and the next block), from `tokens`
    /// into block 0.
    public func counts(tokens: Int) -> [TokenCount] {
        var t = tokens
        return zip(pruneKept, mergeKept).map { p, m in
            let u = min(t, p, m)
            defer { t = u }
            return TokenCount(attention: t, mlp: u)
        }
    }

    /// Throws unless the schedule fits `config`: one entry per block, each leaving the prefix
    /// (CLS, DIST) and at least one more token.
    public func check(for c: ViTConfig, method: String) throws {
        guard pruneKept.count == c.depth, mergeKept.count == c.depth else {
            throw EngineError("\(method): the schedule has \(pruneKept.count) prune and \(mergeKept.count) merge counts for a model with \(c.depth) blocks; give one per block")
        }
        if let bad = (pruneKept + mergeKept).first(where: { $0 < c.prefixTokens + 1 }) {
            throw EngineError("\(method): a schedule count of \(bad) leaves no patch token; every count must be at least \(c.prefixTokens + 1) (CLS\(c.distilled ? ", DIST" : "") and one more)")
        }
    }

    /// The schedule for a model of other size: each block of `c` takes the counts of the block at
    /// the same depth fraction (block l of L reads block round((l + 1) S / L) - 1 of S), and the
    /// patch tokens scale with the patch count. The identity when `c` has the schedule's blocks and
    /// tokens.
    public func rescaled(to c: ViTConfig, fromPatches patches: Int) -> TokenSchedule {
        let s = depth, pre = c.prefixTokens
        guard s > 0, c.depth != s || c.numPatches != patches else { return self }
        func map(_ list: [Int]) -> [Int] {
            (0..<c.depth).map { l in
                let j = min(s - 1, max(0, Int((Double((l + 1) * s) / Double(c.depth)).rounded()) - 1))
                let kept = Double(list[j] - 1) * Double(c.numPatches) / Double(patches)
                return pre + max(1, Int(kept.rounded()))
            }
        }
        return TokenSchedule(pruneKept: map(pruneKept), mergeKept: map(mergeKept), label: label)
    }

    /// A file as the type's comment describes, `PATH[:MODEL/GFLOPS]`.
    public static func load(_ argument: String) throws -> TokenSchedule {
        var path = argument, selector: String?
        if !FileManager.default.fileExists(atPath: argument), let colon = argument.lastIndex(of: ":") {
            path = String(argument[..<colon])
            selector = String(argument[argument.index(after: colon)...])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError("cannot read the schedule \(path): no such file or not readable")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(data, selector: selector, source: path, label: name)
    }

    /// The JSON of a schedule file; `selector` (`MODEL/GFLOPS`) picks one of DiffRate's nested entries.
    public static func parse(_ data: Data, selector: String?, source: String, label: String) throws -> TokenSchedule {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EngineError("the schedule \(source) is not a JSON object; see `tokenscope eval --help` (--schedule) for the forms it can take")
        }
        if root["tokens"] != nil || root["prune_kept_num"] != nil || root["merge_kept_num"] != nil {
            if let selector { throw EngineError("the schedule \(source) holds one schedule, not a table to pick \(selector) from") }
            return try entry(root, source: source, label: label)
        }
        let choices = root.keys.sorted().flatMap { model in
            ((root[model] as? [String: Any])?.keys.sorted() ?? []).map { "\(model)/\($0)" }
        }
        guard let selector else {
            throw EngineError("the schedule \(source) holds several schedules; pick one with \(source):MODEL/GFLOPS, one of \(choices.joined(separator: ", "))")
        }
        let parts = selector.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let table = root[parts[0]] as? [String: Any], let e = table[parts[1]] as? [String: Any] else {
            throw EngineError("the schedule \(source) has no \(selector); it has \(choices.joined(separator: ", "))")
        }
        return try entry(e, source: "\(source):\(selector)", label: label)
    }

    private static func entry(_ e: [String: Any], source: String, label: String) throws -> TokenSchedule {
        if let t = e["tokens"] {
            return TokenSchedule(tokens: try list(t, key: "tokens", source: source) ?? [], label: label)
        }
        guard let mergeValue = e["merge_kept_num"] else { throw EngineError("the schedule \(source) has no merge_kept_num (or tokens) list") }
        guard let merge = try list(mergeValue, key: "merge_kept_num", source: source) else {
            throw EngineError("the schedule \(source): merge_kept_num is None; it needs a count per block")
        }
        let prune = try e["prune_kept_num"].flatMap { try list($0, key: "prune_kept_num", source: source) }
            ?? [Int](repeating: Int.max, count: merge.count)
        guard prune.count == merge.count else {
            throw EngineError("the schedule \(source) has \(prune.count) prune_kept_num and \(merge.count) merge_kept_num entries; they must match")
        }
        return TokenSchedule(pruneKept: prune, mergeKept: merge, label: label)
    }

    /// A JSON array of integers, or a string holding one, or "None" (nil).
    private static func list(_ v: Any, key: String, source: String) throws -> [Int]? {
        var value = v
        if let s = v as? String {
            if s.trimmingCharacters(in: .whitespaces) == "None" { return nil }
            guard let inner = try? JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed]) else {
                throw EngineError("the schedule \(source): \(key) is the string \"\(s.prefix(40))\", not a list of counts")
            }
            value = inner
        }
        guard let numbers = value as? [Any], !numbers.isEmpty else {
            throw EngineError("the schedule \(source): \(key) must be a non-empty list of token counts")
        }
        return try numbers.map { n in
            guard let d = (n as? NSNumber)?.doubleValue, d.isFinite, d == d.rounded(), d >= 0, d < 1e9 else {
                throw EngineError("the schedule \(source): \(key) holds \(n), not a whole token count")
            }
            return Int(d)
        }
    }
}
