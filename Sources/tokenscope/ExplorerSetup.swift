import ArgumentParser
import Compression
import Engine
import Explorer
import Foundation

/// The options `explore`, `export` and `demo` share: which model, which plan, which settings.
struct ExplorerOptions: ParsableArguments {
    @Option(help: "Model (safetensors; default: the shipped Fashion-MNIST model).") var model: String?
    @Option(help: "Calibrated ranks (seq_ranks) for the static plan; default: the model's own if shipped.") var ranks: String?
    @Option(help: "A Prune and Merge file: show its own plan (the model is its dense part; s switches to planning from scores).") var pm: String?
    @Option(help: "Initial keep ratio.") var keep: Double = 0.7
    @Option(help: "Initial prune rate.") var prune: Double = 0.1
    @Option(help: "Initial grouping of plans made from scores: grid or official (key g toggles).") var grouping: PMPlanner.Grouping = .grid
    @Option(help: "Initial recovery of plans made from scores: update or official (key u toggles).") var recovery: PMRecovery = .update
    @Option(help: "Worker threads.") var threads: Int = defaultThreads

    func validate() throws {
        guard keep > 0, keep < 1, prune >= 0, prune < 1, keep + prune <= 1 else {
            throw ValidationError("--keep must be in (0, 1), --prune in [0, 1) and keep + prune at most 1")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}

/// A loaded explorer session: engine (model, plan sources, images), initial state and names.
struct ExplorerSetup {
    var engine: ExplorerEngine
    var state: ExplorerState
    var modelName: String
    var classNames: [String]

    /// Loads the model (or PM file), ranks and images. `images` empty means the shipped samples.
    init(_ o: ExplorerOptions, images: [String]) throws {
        if o.pm != nil && o.model != nil { throw EngineError("give --model or --pm, not both (a PM file holds its dense model)") }
        let filePlan = try o.pm.map { try PMModel(path: $0) }
        guard let modelPath = o.pm ?? o.model ?? Assets.find("models/fmnist-vit.safetensors") else {
            throw EngineError("no model given and the shipped one (assets/models/fmnist-vit.safetensors) is not there yet; pass --model M.safetensors")
        }
        let m = try filePlan?.dense ?? ViTModel(path: modelPath)
        m.packWeights(forBackward: true)  // live scores
        let c = m.config
        let rankPath = o.ranks ?? (o.model == nil && o.pm == nil ? Assets.find("models/fmnist-vit.ranks.safetensors") : nil)
        let r = try rankPath.map { try Calibration.load(path: $0, for: c) }
        let imgs = try Self.loadImages(images, model: m)
        classNames = try Assets.classNames(for: m, labelsFile: nil)
        engine = ExplorerEngine(model: m, ranks: r, filePlan: filePlan, images: imgs, classNames: classNames, workers: o.threads)
        state = ExplorerState(depth: c.depth, grid: c.grid, imageCount: imgs.count, hasCalibratedRanks: r != nil, hasFilePlan: filePlan != nil,
                              keep: o.keep, prune: o.prune, grouping: o.grouping, recovery: o.recovery)
        modelName = (modelPath as NSString).lastPathComponent
    }

    /// The patch-map document for the current state (computed now).
    func patchMap(layers: [Int]? = nil) throws -> PatchMap {
        let a = try engine.analyse(state)
        return patchMap(a, layers: layers)
    }

    /// The document for analysis `a` of state `s` (default: the initial state).
    func patchMap(_ a: Analysis, state s: ExplorerState? = nil, layers: [Int]? = nil) -> PatchMap {
        let st = s ?? state
        return PatchMap(version: TokenScope.version, modelName: modelName, image: engine.images[st.image], state: st, analysis: a,
                        config: engine.model.config, layers: layers)
    }

    /// PNGs given, or the shipped samples with their labels.
    static func loadImages(_ given: [String], model m: ViTModel) throws -> [ExplorerImage] {
        let c = m.config
        var paths = given
        var labels: [String: Int] = [:]
        if paths.isEmpty {
            guard let list = Assets.find("images/labels.txt") else {
                throw EngineError("no images given and the samples (assets/images) are not there; pass PNG files")
            }
            let dir = (list as NSString).deletingLastPathComponent
            for line in try Assets.readLines(list) {
                let f = line.split(separator: "\t")
                guard f.count >= 2 else { continue }
                paths.append(dir + "/" + f[0]); labels[dir + "/" + f[0]] = Int(f[1])
            }
        }
        guard !paths.isEmpty else {
            throw EngineError("no images: assets/images/labels.txt lists none (lines of FILE<tab>LABEL); pass PNG files")
        }
        let cfg = PreprocessConfig(inputSize: c.imageSize, cropPct: m.preprocessing.cropPct, mean: m.preprocessing.mean,
                                   std: m.preprocessing.std, channels: c.channels)
        return try paths.map { p in
            let input = try Preprocess.preprocess(try PNGCodec.read(path: p), cfg)
            return ExplorerImage(name: (p as NSString).lastPathComponent, label: labels[p], input: input,
                                 pixels: ExplorerImage.pixels(fromInput: input, channels: c.channels, size: c.imageSize,
                                                              mean: m.preprocessing.mean, std: m.preprocessing.std),
                                 size: c.imageSize)
        }
    }
}
