import ArgumentParser
import Compression
import Engine

/// `--method` and its settings, shared by `infer`, `eval` and `bench`: how a model file runs
/// (dense, its Prune and Merge plan, or a training-free baseline on its dense weights).
struct MethodOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "How to run the model: \(MethodName.help). Default: what the file is, pm for files with merge matrices, dense otherwise.",
        valueName: MethodName.allValueStrings.joined(separator: "|"))) var method: MethodName?
    @Option(name: .customLong("r"), parsing: .unconditional, help: ArgumentHelp(
        "ToMe: tokens merged in each block, one number for every block or one per block (a shorter list is padded with 0, as ToMe's parse_r); each block merges at most half its non-CLS tokens. Required with --method tome.",
        valueName: "N or N,N,...")) var r: String?
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "ToMe: a linear schedule as ToMe's (r, inflect): r per block runs from int(r (1 - inflect)) in the first block to 2r minus that in the last, so -1 falls from 2r to 0 and +1 rises from 0 to 2r. In [-1, 1]; needs a single --r.",
        valueName: "X")) var inflect: Double?
    @Flag(help: "ToMe: turn proportional attention off (on by default, as ToMe's timm patch: + log(token size) on the attention logits).") var noPropAttn = false
    @Option(parsing: .unconditional, help: "EViT: fraction of the patch tokens kept at each reducing block, in (0, 1]; the rest are fused into one token (default 0.7, EViT's).") var keepRate: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "EViT: reducing blocks, 0-based (default 3,6,9 for 12 blocks as EViT; depth/4, depth/2, 3*depth/4 for other depths).",
        valueName: "3,6,9")) var blocks: String?

    func validate() throws {
        let name = method?.id
        if name != ToMe.id && (r != nil || noPropAttn || inflect != nil) {
            throw ValidationError("--r, --inflect and --no-prop-attn are ToMe settings: add --method tome")
        }
        if name != EViT.id && (keepRate != nil || blocks != nil) { throw ValidationError("--keep-rate and --blocks are EViT settings: add --method evit") }
        if name == ToMe.id {
            guard let r else { throw ValidationError("--method tome needs --r (tokens merged per block, e.g. --r 8)") }
            let values = try Self.integers(r, option: "--r")
            if let inflect {
                guard values.count == 1 else { throw ValidationError("--inflect makes the per-block list itself: give a single --r") }
                guard inflect.isFinite, (-1...1).contains(inflect) else { throw ValidationError("--inflect must be in [-1, 1], got \(inflect)") }
            }
        }
        if let keepRate, !(keepRate > 0 && keepRate <= 1) { throw ValidationError("--keep-rate must be in (0, 1], got \(keepRate)") }
        if let blocks { _ = try Self.integers(blocks, option: "--blocks") }
    }

    /// The method with its settings (nil: as the file is; block ranges are checked against the
    /// model when it loads).
    func resolved() throws -> MethodChoice? {
        guard let method else { return nil }
        switch method.id {
        case ToMe.id:
            let values = try Self.integers(r ?? "", option: "--r")
            let schedule: ToMeModel.Schedule = values.count == 1
                ? inflect.map { .inflected(r: values[0], inflect: $0) } ?? .constant(values[0]) : .perBlock(values)
            return MethodChoice(ToMe.self, settings: .init(schedule: schedule, proportionalAttention: !noPropAttn))
        case EViT.id:
            return MethodChoice(EViT.self, settings: .init(keepRate: keepRate ?? 0.7, blocks: try blocks.map { try Self.integers($0, option: "--blocks") }))
        default:
            // A method with no options here: its defaults, or its own files as they are.
            return MethodChoice(defaultsOf: method.method)
        }
    }

    /// Loads `path` and applies the method.
    func load(_ path: String, heads: Int? = nil) throws -> AnyModel {
        try AnyModel(path: path, heads: heads, method: try resolved())
    }

    /// A dense model in memory (`bench --arch`) with the method applied.
    func apply(to model: ViTModel) throws -> AnyModel {
        try AnyModel(dense: model, method: try resolved())
    }

    /// "8" or "8,8,4": non-negative integers (r < 0 and negative blocks are refused here).
    static func integers(_ s: String, option: String) throws -> [Int] {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Int] = []
        for p in parts {
            guard let v = Int(p) else { throw ValidationError("\(option) wants integers separated by commas, got \"\(s)\"") }
            guard v >= 0 else { throw ValidationError("\(option) values must be at least 0, got \(v)") }
            out.append(v)
        }
        return out
    }
}
