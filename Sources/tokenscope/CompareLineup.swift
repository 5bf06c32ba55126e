import Compression
import Engine
import Foundation

/// `compare`'s rows before they are scored: the dense model, then per keep ratio Prune and
/// Merge's rows (training-free, and the fine-tuned file where there is one) and every other
/// method's rows matched to them; and which pairs of rows the paired tests compare.
struct CompareLineup {
    var entries: [CompareEntry]
    var budgets: [CompareBudget] = []

    /// The rows matched on GFLOPs. `finetuned` is the folder of fine-tuned files
    /// (`fmnist-pm-k60.safetensors`, `fmnist-tome-k60.safetensors`, ...), if any.
    init(dense m: ViTModel, modelPath: String, ranks r: [[Double]], keeps: [Double], prune: Double?, finetuned ftDir: String?) throws {
        let c = m.config
        entries = [CompareEntry(name: "dense", model: AnyModel(DenseModel(m)), block: .trainingFree)]
        for k in keeps {
            var budget = CompareBudget()
            let tag = String(format: "k%02d", Int((k * 100).rounded()))
            var finetunedModel: PMModel?
            if let dir = ftDir, FileManager.default.fileExists(atPath: "\(dir)/fmnist-pm-\(tag).safetensors") {
                let path = "\(dir)/fmnist-pm-\(tag).safetensors"
                // Loaded as every file to run is (AnyModel packs the weights), so it is timed as the rows made in memory.
                guard let ft = try AnyModel(path: path).model as? PMModel else {
                    throw EngineError("\(path) is not a Prune and Merge file; give --finetuned a folder with this model's files")
                }
                guard ft.dense.config == c else {
                    throw EngineError("\(path) was made from another model (its config differs from \(modelPath)'s); give --finetuned a folder with this model's files")
                }
                finetunedModel = ft
            }
            let pruneRate = prune ?? finetunedModel.flatMap { $0.metadata["prune"].flatMap(Double.init) } ?? 0.1
            guard k + pruneRate <= 1 + 1e-9 else { throw EngineError("keep \(k) + prune \(pruneRate) is more than 1; pass --prune") }
            let plan = try PMPlanner.plan(ranks: r, config: c, options: .init(keep: k, prune: pruneRate, blocks: Array(0..<c.depth), grouping: .grid))
            // Same recovery as the fine-tuned file, so the two rows differ only by fine-tuning.
            let pm = try PMModel(dense: m, blocks: plan, recovery: finetunedModel?.recovery ?? .update)
            budget.pmFree = entries.count
            entries.append(CompareEntry(name: "pm-\(tag)", model: AnyModel(pm), block: .trainingFree, prune: pruneRate))
            if let ft = finetunedModel {
                budget.pmTuned = entries.count
                entries.append(CompareEntry(name: "pm-\(tag)-finetuned", model: AnyModel(ft), block: .fineTuned, prune: pruneRate))
            }
            // Every other method at its setting nearest this plan's FLOPs (dense has none: its row is first),
            // and, where the folder has one, the method fine-tuned at this budget (fmnist-tome-k60.safetensors).
            for method in MethodRegistry.all where method.id != PruneAndMerge.id {
                guard let matched = try method.matching(flops: pm.flopsPerImage, dense: m, ranks: nil) else { continue }
                budget.others.append(entries.count)
                entries.append(CompareEntry(name: matched.name, model: AnyModel(matched.model), block: .trainingFree,
                                            matchedTo: entries[budget.pmFree].name, matchedOn: [.gflops]))
                guard let path = ftDir.map({ "\($0)/fmnist-\(method.id)-\(tag).safetensors" }), FileManager.default.fileExists(atPath: path) else { continue }
                let tuned = try AnyModel(path: path)
                guard tuned.vit.config == c, tuned.method == method.id else {
                    throw EngineError("\(path) is not \(modelPath) fine-tuned under --method \(method.id); give --finetuned a folder with this model's files")
                }
                // Named after the training-free row when it runs the same token counts (it was made at that
                // setting), else after the budget (tome-k60-finetuned).
                let same = tuned.tokenCounts == matched.model.tokenCounts
                let name = (same ? matched.name : "\(method.id)-\(tag)") + "-finetuned"
                budget.othersTuned.append(entries.count)
                entries.append(CompareEntry(name: name, model: tuned, block: .fineTuned,
                                            matchedTo: entries[budget.pmTuned ?? budget.pmFree].name, matchedOn: [.gflops]))
            }
            budgets.append(budget)
        }
    }

    /// Adds, per budget and method, the training-free settings whose measured images/s at batch 1
    /// and at batch 32 come nearest the Prune and Merge file's (`speeds`, one per entry so far), among
    /// up to seven candidates within 35 % of its FLOPs timed briefly here. Returns the indices of the
    /// rows it added; a setting already in the table is marked instead of added twice.
    mutating func matchSpeed(speeds: [Throughput], dense m: ViTModel, seconds: Double, threads: Int) throws -> [Int] {
        var added: [Int] = []
        for q in budgets.indices {
            let target = budgets[q].pmTuned ?? budgets[q].pmFree
            for method in MethodRegistry.all where method.id != PruneAndMerge.id && method.id != Dense.id {
                let pool = try method.candidates(near: entries[target].model.flopsPerImage, within: 0.35, count: 7, dense: m, ranks: nil)
                guard !pool.isEmpty else { continue }
                let quick = Throughput.measure(pool.map { AnyModel($0.model) }, seconds: max(seconds / 3, 0.1), rounds: 1, threads: threads)
                for key in MatchKey.speeds {
                    guard let want = key.speed(speeds[target]) else { continue }
                    let distance = quick.map { abs(log((key.speed($0) ?? .nan) / want)) }
                    guard let best = pool.indices.min(by: { distance[$0] < distance[$1] }) else { continue }
                    let name = pool[best].name
                    if let existing = entries.firstIndex(where: { $0.name == name && $0.block == .trainingFree }) {
                        if !entries[existing].matchedOn.contains(key) { entries[existing].matchedOn.append(key) }
                        if !budgets[q].speedMatched.contains(where: { $0.row == existing && $0.on == key }) { budgets[q].speedMatched.append((existing, key)) }
                    } else {
                        budgets[q].speedMatched.append((entries.count, key))
                        added.append(entries.count)
                        entries.append(CompareEntry(name: name, model: AnyModel(pool[best].model), block: .trainingFree,
                                                    matchedTo: entries[target].name, matchedOn: [key]))
                    }
                }
            }
        }
        return added
    }

    /// The pairs the paired tests compare, per budget: training-free Prune and Merge against every
    /// training-free row matched to it (on FLOPs, and on speed: matched to the file's speed, which runs
    /// the same plan); the fine-tuned file against every fine-tuned row, against its own training-free
    /// plan and against the training-free rows; and each fine-tuned baseline against its
    /// training-free setting.
    var pairs: [(a: Int, b: Int, on: MatchKey)] {
        var pairs: [(a: Int, b: Int, on: MatchKey)] = []
        for b in budgets {
            for o in b.others { pairs.append((b.pmFree, o, .gflops)) }
            for (o, key) in b.speedMatched { pairs.append((b.pmFree, o, key)) }
            if let t = b.pmTuned {
                for o in b.othersTuned { pairs.append((t, o, .gflops)) }
                pairs.append((t, b.pmFree, .gflops))
                for o in b.others { pairs.append((t, o, .gflops)) }
            }
            for o in b.othersTuned {
                if let free = b.others.first(where: { entries[o].name == entries[$0].name + "-finetuned" }) { pairs.append((o, free, .gflops)) }
            }
        }
        return pairs
    }
}
