import Compression
import Engine
import Foundation

/// What `finetune` trains: a Prune and Merge file (its merge and recover matrices and, unless
/// matrices-only, every dense parameter), or a dense model under a token-reduction method whose
/// step the backward pass goes through (ToMe, EViT: every dense parameter, the method's settings
/// fixed). A method fine-tune writes a dense file that records the method and its settings
/// (`MethodChoice.metadata`), so it runs under them wherever it is loaded.
enum FineTuneSubject {
    case pruneAndMerge(PMModel, PMNetwork)
    case method(any FineTunableModel, TrainableNetwork, recorded: [String: String])

    /// Loads `path` (a model or a training checkpoint, whose optimizer moments are skipped) as
    /// `choice` says: nil runs the file as it is (a Prune and Merge file, or a dense file that
    /// records its method); `arguments` are what the command line gave for `choice`. A resumed
    /// checkpoint says itself whether only the matrices train.
    static func load(_ path: String, choice: MethodChoice?, arguments: MethodArguments, batch: Int, workers: Int,
                     matricesOnly: Bool, resuming: Bool) throws -> FineTuneSubject {
        let file = try SafeTensorsFile(path: path)
        if PruneAndMerge.ownsFile(file) {
            if let choice, choice.method.id != PruneAndMerge.id {
                throw EngineError("\(path) is a Prune and Merge file; --method \(choice.method.id) fine-tunes a dense model under that method: give the dense file")
            }
            let pm = try PMModel(path: path, ignoring: Trainer.isOptimizerState)
            let only = resuming ? file.metadata["matrices_only"] == "true" : matricesOnly
            return .pruneAndMerge(pm, PMNetwork(model: pm, batch: batch, workers: workers, matricesOnly: only))
        }
        let recorded = try MethodChoice.recorded(in: file.metadata, source: path)
        guard let chosen = choice ?? recorded else {
            throw EngineError("\(path) is a dense model: give --method tome or --method evit with its settings to fine-tune it under that method (or a Prune and Merge file from `compress`; `train` trains dense models)")
        }
        if matricesOnly { throw EngineError("--matrices-only trains a Prune and Merge file's matrices; --method \(chosen.method.id) has none") }
        let dense = try ViTModel(file: file, ignoring: Trainer.isOptimizerState)
        guard let tunable = try AnyModel(dense: dense, method: chosen).model as? any FineTunableModel else {
            throw EngineError("--method \(chosen.method.id) has no backward pass here; finetune takes Prune and Merge files, --method tome and --method evit")
        }
        let keys = choice == nil ? [MethodChoice.methodKey: file.metadata[MethodChoice.methodKey] ?? chosen.method.id,
                                    MethodChoice.argumentsKey: file.metadata[MethodChoice.argumentsKey] ?? "{}"]
                                 : try MethodChoice.metadata(method: chosen.method, arguments: arguments)
        return .method(tunable, tunable.trainingNetwork(batch: batch, workers: workers), recorded: keys)
    }

    var network: TrainableNetwork {
        switch self {
        case .pruneAndMerge(_, let n): return n
        case .method(_, let n, _): return n
        }
    }

    var dense: ViTModel { network.base }

    /// The model as it stands, for scoring between epochs (PM's trained matrices copied back first).
    func current() -> AnyModel {
        switch self {
        case .pruneAndMerge(let pm, let n):
            n.forwardPass.writeBack()
            return AnyModel(pm)
        case .method(let m, _, _): return AnyModel(m)
        }
    }

    /// The metadata the run starts from: the file's, without the scores of what it was before
    /// (a dense file's test top-1 is not the fine-tuned model's), plus the method's keys.
    var startingMetadata: [String: String] {
        switch self {
        case .pruneAndMerge(let pm, let n):
            var m = pm.metadata
            m["matrices_only"] = n.matricesOnly ? "true" : "false"
            return m
        case .method(let model, _, let keys):
            var m = model.dense.metadata
            if m["finetune_command"] == nil {
                for k in ["test_top1", "test_images", "validation_top1", "validation_images"] { m[k] = nil }
            }
            for k in ["format", "config"] { m[k] = nil }
            m.merge(keys) { $1 }
            return m
        }
    }

    /// "fine-tuning ... of a model running ... tokens per block".
    var banner: String {
        switch self {
        case .pruneAndMerge(let pm, let n):
            return "fine-tuning \(n.matricesOnly ? "merge/recover matrices" : "all parameters") of a Prune and Merge model running \(pm.channels.map(String.init).joined(separator: " ")) tokens per block"
        case .method(let m, _, _):
            return "fine-tuning all parameters under \(m.method.title) (\(m.tokenCounts.map { String($0.mlp) }.joined(separator: " ")) tokens after each block)"
        }
    }

    func save(to path: String, metadata: [String: String]) throws {
        switch self {
        case .pruneAndMerge(let pm, let n):
            n.forwardPass.writeBack()
            try pm.save(to: path, metadata: metadata)
        case .method(let m, _, _):
            try m.dense.save(to: path, metadata: metadata, replacing: true)
        }
    }
}
