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
        let m = try filePlan?.dense ?? ViTModel(path: modelPath, ignoring: Trainer.isOptimizerState)  // a training checkpoint opens too
        m.packWeights(forBackward: true)  // live scores
        let c = m.config
        let rankPath = o.ranks ?? (o.model == nil && o.pm == nil ? Assets.find("models/fmnist-vit.ranks.safetensors") : nil)
        let r = try rankPath.map { try Calibration.load(path: $0, for: c) }
        let imgs = try Self.loadImages(images, model: m, threads: o.threads)
        classNames = try Assets.classNames(for: m, labelsFile: nil)
        engine = ExplorerEngine(model: m, ranks: r, filePlan: filePlan, images: imgs, classNames: classNames, workers: o.threads)
        state = ExplorerState(depth: c.depth, grid: c.grid, imageCount: imgs.count, hasCalibratedRanks: r != nil, hasFilePlan: filePlan != nil,
                              keep: o.keep, prune: o.prune, grouping: o.grouping, recovery: o.recovery)
        modelName = (modelPath as NSString).lastPathComponent
        // A dense file fine-tuned under a method (`finetune --method`) opens on that method with its settings
        // (settings that do not decode leave the method's defaults: the file still opens).
        if filePlan == nil, let id = m.metadata[MethodChoice.methodKey],
           let shown = ExplorerState.Method.allCases.first(where: { $0.method.id == id }) {
            state.method = shown
            if let json = m.metadata[MethodChoice.argumentsKey],
               let recorded = try? JSONDecoder().decode(MethodArguments.self, from: Data(json.utf8)) {
                state.methodArguments = recorded
            }
        }
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

    /// The images given (PNG or JPEG files, or folders of them), or the shipped samples with their labels.
    ///
    /// A folder opens every image in it, in torchvision's order, each decoded when the explorer first
    /// needs it (`ImageSource`: a folder of 50 000 photos opens at once and holds only the images
    /// in use). In the class layout each image is named by its path inside the folder, and its label
    /// is the folder's class id when the folder has one class per model class (otherwise the ids would
    /// not mean the model's classes, so none is shown). A file in a folder that cannot be read shows
    /// black with the reason in its name; a file given by name is read now and must read.
    static func loadImages(_ given: [String], model m: ViTModel, threads: Int = defaultThreads) throws -> [ExplorerImage] {
        let c = m.config
        let cfg = m.evalTransform
        let mean = m.preprocessing.mean, std = m.preprocessing.std
        var named: [(path: String, name: String, label: Int?)] = []
        if given.isEmpty {
            guard let list = Assets.find("images/labels.txt") else {
                throw EngineError("no images given and the samples (assets/images) are not there; pass PNG or JPEG files or a folder")
            }
            let dir = (list as NSString).deletingLastPathComponent
            for line in try Assets.readLines(list) {
                let f = line.split(separator: "\t")
                guard f.count >= 2 else { continue }
                named.append((dir + "/" + f[0], String(f[0]), Int(f[1])))
            }
        }
        // Given files are decoded now, on worker threads; folders become lazy images in their place.
        enum Entry { case file(Int), lazy(ExplorerImage) }
        var order: [Entry] = []
        for (i, _) in named.enumerated() { order.append(.file(i)) }
        for p in given {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                let folder = try ImageFolder.open(p)
                let labelled = folder.layout == .classes && folder.classNames.count == c.numClasses
                for (i, file) in folder.files.enumerated() {
                    order.append(.lazy(ExplorerImage(name: folder.relativePath(file), label: labelled ? folder.labels?[i] : nil,
                                                     size: c.imageSize, channels: c.channels) {
                        let input = try Preprocess.preprocess(try ImageReader.read(path: file), cfg)
                        return (input, ExplorerImage.pixels(fromInput: input, channels: c.channels, size: c.imageSize, mean: mean, std: std))
                    }))
                }
            } else {
                order.append(.file(named.count))
                named.append((p, (p as NSString).lastPathComponent, nil))
            }
        }
        guard !order.isEmpty else {
            throw EngineError("no images: assets/images/labels.txt lists none (lines of FILE<tab>LABEL); pass PNG or JPEG files or a folder")
        }
        let stream = ImageStream(ImageFolder(listing: named.map(\.path)), preprocess: cfg, workers: threads, window: 64, strict: true)
        defer { stream.finish() }
        var decoded: [ExplorerImage] = []
        while let sample = try stream.next() {
            let e = named[sample.index]
            decoded.append(ExplorerImage(name: e.name, label: e.label, input: sample.input,
                                         pixels: ExplorerImage.pixels(fromInput: sample.input, channels: c.channels, size: c.imageSize,
                                                                      mean: mean, std: std),
                                         size: c.imageSize))
        }
        return order.map { entry in
            switch entry {
            case .file(let i): return decoded[i]
            case .lazy(let image): return image
            }
        }
    }
}
