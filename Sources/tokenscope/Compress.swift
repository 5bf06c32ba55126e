import ArgumentParser
import Compression
import Engine
import Foundation

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a Prune and Merge model from a dense one: plan from scores, merge and recover matrices.",
        discussion: """
        Scores come from --ranks (seq_ranks.{i} per block, as `calibrate` or the official code writes them) or are computed here from --data. Per block the scores are L2-normalised and weighted by (1 - 0.025 i); over all compressed blocks the lowest int(P * prune) * L are pruned and the highest int(P * keep) * L become group centers (P patches, L blocks). Grouping `grid` (default) keeps every group inside one grid row and clips it at both row edges; `official` reproduces the official code exactly, its quirks included. Kept tokens with no center in reach pass through the block like pruned ones. Recovery `update` (default) adds the block's update back through the recover matrix and keeps every token's own features (out = x + R (block(M x) - M x)); `official` replaces kept tokens by R block(M x), as the official code does (see the README, "Recovery"). Writes the official tensor names (blocks.{i}.attn.merge_matrix, recover_matrix, token_mask, bias) plus metadata (channels, blocks, keep, prune, grouping, source).
        """
    )

    @Option(help: "Dense model (safetensors).") var model: String
    @Option(help: "Ranks file (seq_ranks.{i}).") var ranks: String?
    @Option(help: ArgumentHelp("Compute ranks from this data instead, as `calibrate` does (seed 0, batch 64): " + DataSource.help, valueName: "dir")) var data: String?
    @Option(help: "Images for computing ranks with --data.") var images: Int = 4096
    @Flag(help: "With --data on an image folder: stop at the first image that cannot be read (default: skip and report).") var strict = false
    @Option(help: "Fraction of patches per block that become group centers (0 < keep < 1).") var keep: Double
    @Option(help: "Fraction of patches per block pruned (skip the block).") var prune: Double = 0.1
    @Option(help: "Blocks to compress, e.g. 0-11 or 2,4,6 (default all).") var blocks: String?
    @Option(help: "Grouping: grid (groups stay inside one grid row) or official (the official code, quirks included).") var grouping: PMPlanner.Grouping = .grid
    @Option(help: "Recovery: update (tokens keep their own features, the block's update is restored) or official (kept tokens replaced by recover @ block output).") var recovery: PMRecovery = .update
    @Option(help: "Centers per compressed block, comma-separated, instead of the global keep threshold.") var keepPerBlock: String?
    @Option(help: "Output PM model (safetensors).") var out: String
    @Option(help: "Worker threads.") var threads: Int = defaultThreads

    func validate() throws {
        guard keep > 0, keep < 1 else { throw ValidationError("--keep must be in (0, 1)") }
        guard prune >= 0, prune < 1 else { throw ValidationError("--prune must be in [0, 1)") }
        guard keep + prune <= 1 else { throw ValidationError("--keep + --prune must not exceed 1") }
        guard (ranks == nil) != (data == nil) else { throw ValidationError("give exactly one of --ranks FILE and --data DIR") }
    }

    func run() throws {
        try reportingErrors {
            let m = try ViTModel(path: model)
            m.packWeights(forBackward: data != nil)  // --data calibrates first
            let c = m.config
            let blockList = try Self.parseBlocks(blocks, depth: c.depth)
            let r: [[Double]]
            var dataSummary = ""
            if let ranks {
                r = try Calibration.load(path: ranks, for: c)
            } else {
                let source = try DataSource.open(data ?? IDXDataset.defaultDirectory)
                dataSummary = "; ranks from " + source.summary
                switch source {
                case .idx(let dir):
                    let train = try IDXDataset.load(directory: dir, split: .train)
                    guard c.channels == 1, c.imageSize == train.rows else { throw EngineError("\(model) does not take this data's \(train.rows)x\(train.cols) gray images") }
                    let maker = BatchMaker(dataset: train, mean: m.preprocessing.mean[0], std: m.preprocessing.std[0])
                    var rng = SplitMix64(seed: 0)
                    let order = BatchMaker.permutation(count: train.count, rng: &rng)
                    r = Calibration.run(model: m, count: min(images, train.count), batch: 64, workers: threads) { start, k, img, lab in
                        var unused = SplitMix64(seed: 0)
                        maker.fill(indices: order[start..<(start + k)], into: img, labels: lab, augment: nil, rng: &unused)
                    }.seqRanks
                case .folder(let folder):
                    r = try FolderCalibration.run(model: m, folder: folder, images: min(images, folder.count), batch: 64, seed: 0,
                                                  threads: threads, strict: strict, modelName: model).0.seqRanks
                }
            }
            var o = PMPlanner.Options(keep: keep, prune: prune, blocks: blockList, grouping: grouping)
            if let keepPerBlock {
                let v = keepPerBlock.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard v.allSatisfy({ $0 != nil }) else { throw EngineError("--keep-per-block wants comma-separated integers") }
                o.keepPerBlock = v.compactMap { $0 }
            }
            let plan = try PMPlanner.plan(ranks: r, config: c, options: o)
            let pm = try PMModel(dense: m, blocks: plan, recovery: recovery)
            var meta = m.metadata
            for k in ["train_settings", "train_state", "adamw_step", "training_command", "test_top1", "test_images"] { meta[k] = nil }
            meta["blocks"] = "[" + blockList.map(String.init).joined(separator: ", ") + "]"
            meta["keep"] = String(keep); meta["prune"] = String(prune); meta["grouping"] = grouping.rawValue
            meta["source"] = model
            meta["ranks"] = ranks ?? "computed from \(data ?? "") (\(images) images)"
            try pm.save(to: out, metadata: meta)
            let any = AnyModel(pm)
            print("wrote \(out) (\(pm.recovery.rawValue) recovery): tokens per block \(pm.channels.map(String.init).joined(separator: " ")); " +
                  String(format: "%.3f GFLOPs/image (dense %.3f)", any.flopsPerImage / 1e9, c.flopsPerImage / 1e9) + dataSummary)
        }
    }

    /// "0-11", "2,4,6", "0-3,8" -> block indices; nil means all.
    static func parseBlocks(_ s: String?, depth: Int) throws -> [Int] {
        guard let s else { return Array(0..<depth) }
        var out: [Int] = []
        for part in s.split(separator: ",") {
            let ends = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if ends.count == 1, let a = ends[0] { out.append(a) } else if ends.count == 2, let a = ends[0], let b = ends[1], a <= b { out += Array(a...b) } else {
                throw EngineError("--blocks: \"\(part)\" is not a block number or range like 0-11")
            }
        }
        guard !out.isEmpty, out.allSatisfy({ $0 >= 0 && $0 < depth }), Set(out).count == out.count else {
            throw EngineError("--blocks \(s): blocks must be distinct and in 0-\(depth - 1)")
        }
        return out.sorted()
    }
}

// The plan's choices parse straight from the command line: --help lists their values and a wrong one
// is refused with them.
extension PMPlanner.Grouping: ExpressibleByArgument {}
extension PMRecovery: ExpressibleByArgument {}
