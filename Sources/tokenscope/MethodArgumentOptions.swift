import ArgumentParser
import Compression
import Engine

/// The flags behind `MethodArguments`, shared by every command that runs a method (`infer`,
/// `eval`, `bench`, `probe`, `export`). Each help text names the methods that take the option, from
/// the registry; the methods themselves say what the values mean (`settings(from:)`).
struct MethodArgumentOptions: ParsableArguments {
    @Option(name: .customLong("r"), parsing: .unconditional, help: ArgumentHelp(
        "Tokens merged in each block, one number for every block or one per block (a shorter list is padded with 0, as ToMe's parse_r); each block merges at most half its non-CLS tokens. \(takers(.r))",
        valueName: "N or N,N,...")) var r: String?
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "A linear schedule as ToMe's (r, inflect): r per block runs from int(r (1 - inflect)) in the first block to 2r minus that in the last, so -1 falls from 2r to 0 and +1 rises from 0 to 2r. In [-1, 1]; needs a single --r. \(takers(.inflect))",
        valueName: "X")) var inflect: Double?
    @Flag(help: ArgumentHelp("Turn proportional attention off (+ log(token size) on the attention logits, on by default as in ToMe's timm patch and DiffRate). \(takers(.noPropAttn))")) var noPropAttn = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Fraction of the patch tokens kept at each reducing block, in (0, 1]; the rest are fused into one token (default 0.7, EViT's). \(takers(.keepRate))")) var keepRate: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Reducing blocks, 0-based (default 3,6,9 for 12 blocks as EViT; depth/4, depth/2, 3*depth/4 for other depths). \(takers(.blocks))",
        valueName: "3,6,9")) var blocks: String?
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Per-block token counts from a JSON file: {\"prune_kept_num\": [...], \"merge_kept_num\": [...]} (DiffRate's form: tokens kept by pruning and after merging, CLS included, one per block), {\"tokens\": [...]} (the tokens each block leaves), or DiffRate's compression_rate.json with :MODEL/GFLOPS after the path (assets/schedules/diffrate-deit.json:ViT-S-DeiT/2.9). ToMe and EViT read the tokens each block leaves. Default for diffrate: the published DeiT-S 2.9 GFLOPs schedule. \(takers(.schedule))",
        valueName: "FILE[:MODEL/GFLOPS]")) var schedule: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Fraction of the tokens each block keeps: it merges floor(T - T x ratio) of its T patch tokens, in [0.5, 1) (default 0.9125, PiToMe's). \(takers(.ratio))")) var ratio: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp("The energy margin of the first block; block l of L uses m (1 - l / L) (default 0.75, PiToMe's for DeiT). \(takers(.margin))")) var margin: Double?

    static func takers(_ k: MethodArguments.Key) -> String {
        "Methods: " + MethodArguments.takers(of: k).joined(separator: ", ") + "."
    }

    /// The options as typed values (a schedule file is read here).
    func parsed() throws -> MethodArguments {
        MethodArguments(r: try r.map { try Self.integers($0, option: "--r") }, inflect: inflect, noPropAttn: noPropAttn, keepRate: keepRate,
                        blocks: try blocks.map { try Self.integers($0, option: "--blocks") }, schedule: try schedule.map(TokenSchedule.load),
                        ratio: ratio, margin: margin)
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
