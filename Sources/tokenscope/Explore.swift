import ArgumentParser
import Compression
import Engine
import Explorer
import Foundation
import TerminalUI

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the explorer: which tokens each layer prunes, merges and restores (the default command).",
        discussion: "With no arguments it opens the shipped Fashion-MNIST model on the sample images in assets/images. Keys: left/right (h/l) layer, up/down (k/j) keep ratio, [ and ] prune rate, v or Tab view, s score source, n/p image, e export, r reset, ? help, q quit. When stdout is not a terminal, or TERM is unset or dumb, it prints the text patch map of the first image instead."
    )

    @Argument(help: "PNG images to explore (default: the shipped samples).") var images: [String] = []
    @Option(help: "Model (safetensors; default: the shipped Fashion-MNIST model).") var model: String?
    @Option(help: "Calibrated ranks (seq_ranks) for the static plan; default: the model's own if shipped.") var ranks: String?
    @Option(help: "A Prune and Merge file: show its own plan (the model is its dense part; s switches to planning from scores).") var pm: String?
    @Option(help: "Initial keep ratio.") var keep: Double = 0.7
    @Option(help: "Initial prune rate.") var prune: Double = 0.1
    @Option(help: "Colours: auto, none, 8 or 256 (auto honours NO_COLOR).") var color: String = "auto"
    @Option(help: "Worker threads.") var threads: Int = defaultThreads

    func validate() throws {
        guard keep > 0, keep < 1, prune >= 0, prune < 1, keep + prune <= 1 else {
            throw ValidationError("--keep must be in (0, 1), --prune in [0, 1) and keep + prune at most 1")
        }
        guard ["auto", "none", "8", "256"].contains(color) else { throw ValidationError("--color must be auto, none, 8 or 256") }
    }

    func run() throws {
        try reportingErrors {
            if pm != nil && model != nil { throw EngineError("give --model or --pm, not both (a PM file holds its dense model)") }
            let filePlan = try pm.map { try PMModel(path: $0) }
            guard let modelPath = pm ?? model ?? Assets.find("models/fmnist-vit.safetensors") else {
                throw EngineError("no model given and the shipped one (assets/models/fmnist-vit.safetensors) is not there yet; pass --model M.safetensors")
            }
            let m = try filePlan?.dense ?? ViTModel(path: modelPath)
            let c = m.config
            let rankPath = ranks ?? (model == nil && pm == nil ? Assets.find("models/fmnist-vit.ranks.safetensors") : nil)
            let r = try rankPath.map { try Calibration.load(path: $0, for: c) }
            let imgs = try loadImages(m)
            let names = try Assets.classNames(for: m, labelsFile: nil)
            let engine = ExplorerEngine(model: m, ranks: r, filePlan: filePlan, images: imgs, classNames: names, workers: threads)
            var state = ExplorerState(depth: c.depth, imageCount: imgs.count, hasCalibratedRanks: r != nil, hasFilePlan: filePlan != nil,
                                      keep: keep, prune: prune)
            let modelName = (modelPath as NSString).lastPathComponent

            if let reason = Terminal.unavailableReason() {
                let a = try engine.analyse(state)
                print(TextMap.render(version: TokenScope.version, modelName: modelName, imageName: imgs[0].name, state: state, analysis: a, grid: c.grid), terminator: "")
                printError("\(reason): printed the text patch map; run `tokenscope explore` in a terminal for the interactive view")
                return
            }
            let term: Terminal
            do {
                term = try Terminal(colorPreference: color)
            } catch Terminal.OpenError.notATerminal(let why) {
                throw EngineError("cannot start the interactive view: \(why); try TERM=xterm-256color, or pipe the output for the text map")
            }
            defer { term.close() }
            let renderer = Renderer(modelName: modelName, config: c, classNames: names,
                                    options: .init(color: term.colorMode, unicode: term.unicode))
            try Self.loop(term: term, renderer: renderer, engine: engine, state: &state, modelName: modelName)
        }
    }

    /// Keys on the main thread, analysis on a background queue; a result computed for settings the
    /// user has already left is dropped and the current settings are computed instead.
    static func loop(term: Terminal, renderer: Renderer, engine: ExplorerEngine, state: inout ExplorerState, modelName: String) throws {
        let queue = DispatchQueue(label: "tokenscope.analysis")
        let mailbox = Mailbox()
        var current: Analysis?
        var busy = false, again = false
        func key(_ s: ExplorerState) -> Analysis.Key { Analysis.Key(s) }
        func request(_ s: ExplorerState) {
            if busy { again = true; return }
            busy = true
            let snapshot = s
            queue.async { mailbox.put(Result { try engine.analyse(snapshot) }) }
        }
        request(state)
        var dirty = true
        while !state.quit {
            if let got = mailbox.take() {
                busy = false
                switch got {
                case .success(let a):
                    if a.key == key(state) { current = a } else { again = true }
                    if current == nil { current = a }
                case .failure(let e):
                    state.status = "\(e)"
                }
                if again { again = false; request(state) }
                dirty = true
            }
            if dirty {
                let (w, h) = term.size
                let img = engine.images[state.image]
                term.draw(renderer.render(state, analysis: current, image: img, computing: busy, width: w, height: h))
                dirty = false
            }
            guard let k = term.readKey(timeoutMs: 50) else { continue }
            state.status = ""
            for effect in state.handle(k) {
                switch effect {
                case .recompute: request(state)
                case .redraw: break
                case .export:
                    if let a = current {
                        state.status = export(a, state: state, engine: engine, modelName: modelName)
                    } else {
                        state.status = "nothing to export yet: still computing"
                    }
                }
            }
            dirty = true
        }
        // Let a running analysis finish before the engine goes away.
        queue.sync {}
    }

    /// One result handed from the analysis queue to the key loop.
    final class Mailbox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Result<Analysis, Error>?
        func put(_ v: Result<Analysis, Error>) { lock.lock(); value = v; lock.unlock() }
        func take() -> Result<Analysis, Error>? { lock.lock(); defer { value = nil; lock.unlock() }; return value }
    }

    static func export(_ a: Analysis, state: ExplorerState, engine: ExplorerEngine, modelName: String) -> String {
        let img = engine.images[state.image]
        let stem = ((img.name as NSString).lastPathComponent as NSString).deletingPathExtension
        var path = "\(stem)-patchmap.txt", n = 2
        while FileManager.default.fileExists(atPath: path) { path = "\(stem)-patchmap-\(n).txt"; n += 1 }
        let text = TextMap.render(version: TokenScope.version, modelName: modelName, imageName: img.name, state: state,
                                  analysis: a, grid: engine.model.config.grid)
        do {
            try AtomicFile.write(Array(text.utf8), to: path)
            return "export written to \(path)"
        } catch {
            return "export failed: \(error)"
        }
    }

    /// PNGs given, or the shipped samples with their labels.
    func loadImages(_ m: ViTModel) throws -> [ExplorerImage] {
        let c = m.config
        var paths = images
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
