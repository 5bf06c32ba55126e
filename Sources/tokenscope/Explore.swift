import ArgumentParser
import Compression
import Engine
import Explorer
import Foundation
import TerminalUI

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the explorer: which tokens each layer prunes, merges and restores (the default command).",
        discussion: "With no arguments it opens the shipped Fashion-MNIST model on the sample images in assets/images. Keys: left/right (h/l) layer, up/down (k/j) keep ratio, [ and ] prune rate, v or Tab view, s plan source, g grouping (grid/official), u recovery (update/official), m method (Prune and Merge, ToMe, EViT), n/p image, e export, r reset, ? help, q quit; a mouse click on a patch shows its state in every layer. When stdout is not a terminal, or TERM is unset or dumb, it prints the text patch map of the first image instead."
    )

    @Argument(help: "PNG images to explore (default: the shipped samples).") var images: [String] = []
    @OptionGroup var options: ExplorerOptions
    @Option(help: "Colours: auto, none, 8 or 256 (auto honours NO_COLOR).") var color: String = "auto"

    func validate() throws {
        guard ["auto", "none", "8", "256"].contains(color) else { throw ValidationError("--color must be auto, none, 8 or 256") }
    }

    func run() throws {
        try reportingErrors { try ExplorerSession.run(options: options, images: images, color: color, demoInterval: nil) }
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The explorer plays by itself: walks the layers, sweeps keep and prune, switches views, plan sources and images, with a caption.",
        discussion: "Made for showing TokenScope to others (over SSH too: only what changed is redrawn). Any key pauses the demo and hands over the controls (the explorer's keys; ? help); q quits. It loops until stopped. Without a terminal it prints the text patch map, as `explore` does."
    )

    @Argument(help: "PNG images (default: the shipped samples).") var images: [String] = []
    @OptionGroup var options: ExplorerOptions
    @Option(help: "Colours: auto, none, 8 or 256 (auto honours NO_COLOR).") var color: String = "auto"
    @Option(help: "Steps per second (1: one step a second; 4: four).") var speed: Double = 1

    func validate() throws {
        guard ["auto", "none", "8", "256"].contains(color) else { throw ValidationError("--color must be auto, none, 8 or 256") }
        guard speed > 0, speed <= 50 else { throw ValidationError("--speed must be in (0, 50] steps per second") }
    }

    func run() throws {
        try reportingErrors { try ExplorerSession.run(options: options, images: images, color: color, demoInterval: 1 / speed) }
    }
}

/// The interactive session behind `explore` and `demo`: loads everything, falls back to the text
/// patch map without a terminal, otherwise runs the key loop.
enum ExplorerSession {
    static func run(options: ExplorerOptions, images: [String], color: String, demoInterval: Double?) throws {
        let setup = try ExplorerSetup(options, images: images)
        if let reason = Terminal.unavailableReason() {
            print(TextMap.render(try setup.patchMap()), terminator: "")
            printError("\(reason): printed the text patch map; run `tokenscope \(demoInterval == nil ? "explore" : "demo")` in a terminal for the interactive view")
            return
        }
        let term: Terminal
        do {
            term = try Terminal(colorPreference: color)
        } catch Terminal.OpenError.notATerminal(let why) {
            throw EngineError("cannot start the interactive view: \(why); try TERM=xterm-256color, or pipe the output for the text map")
        }
        defer { term.close() }
        let renderer = Renderer(modelName: setup.modelName, config: setup.engine.model.config, classNames: setup.classNames,
                                options: .init(color: term.colorMode, unicode: term.unicode))
        var demo = demoInterval.map {
            DemoPlayer(script: DemoScript(depth: setup.state.depth, imageCount: setup.state.imageCount,
                                          sources: setup.state.sources.count, methods: ExplorerState.Method.allCases.count,
                                          startsOnFilePlan: setup.state.scoreSource == .file),
                       interval: $0, start: Clock.now())
        }
        var state = setup.state
        try loop(term: term, renderer: renderer, setup: setup, state: &state, demo: &demo)
    }

    /// Keys on the main thread, analysis on a background queue; a result computed for settings the
    /// user has already left is dropped and the current settings are computed instead. A frame is
    /// sent only when it differs from the last one (the demo must not flood a slow link).
    static func loop(term: Terminal, renderer: Renderer, setup: ExplorerSetup, state: inout ExplorerState,
                     demo: inout DemoPlayer?) throws {
        let engine = setup.engine
        let queue = DispatchQueue(label: "tokenscope.analysis")
        let mailbox = Mailbox()
        var current: Analysis?
        var busy = false, again = false
        func request(_ s: ExplorerState) {
            if busy { again = true; return }
            busy = true
            let snapshot = s
            queue.async { mailbox.put(Result { try engine.analyse(snapshot) }) }
        }
        func apply(_ k: ExplorerState.Key) {
            for effect in state.handle(k) {
                switch effect {
                case .recompute: request(state)
                case .redraw: break
                case .export:
                    // Only a result for what is on screen: the file's header must describe its grids.
                    if let a = current, a.key == Analysis.Key(state) {
                        state.status = export(setup.patchMap(a, state: state), image: engine.images[state.image])
                    } else {
                        state.status = "nothing to export yet: still computing (press e again in a moment)"
                    }
                }
            }
        }
        request(state)
        var last: CellBuffer?
        while !state.quit {
            if let got = mailbox.take() {
                busy = false
                switch got {
                case .success(let a):
                    if a.key == Analysis.Key(state) { current = a } else { again = true }
                    if current == nil { current = a }
                case .failure(let e):
                    state.status = "\(e)"
                }
                if again { again = false; request(state) }
            }
            if var d = demo, let k = d.tick(now: Clock.now(), busy: busy || again) {
                state.status = ""
                apply(k)
                demo = d
            }
            let (w, h) = term.size
            let frame = renderer.render(state, analysis: current, image: engine.images[state.image], computing: busy,
                                        width: w, height: h, caption: demo?.shownCaption)
            if frame != last {
                term.draw(frame)
                last = frame
            }
            guard var k = term.readKey(timeoutMs: 50) else { continue }
            if case .click(let x, let y) = k {
                let (w, h) = term.size
                k = .select(patch: renderer.patch(atX: x, y: y, width: w, height: h))
            }
            if k == .ctrlL || k == .resize { last = nil }
            // Any key but q pauses the demo (resizes and redraws are not keys the user chose).
            if var d = demo, !d.paused, k != .char("q"), k != .resize, k != .ctrlL {
                d.pause()
                demo = d
                state.status = DemoPlayer.pausedMessage
                continue
            }
            state.status = ""
            apply(k)
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

    /// The `e` key: the text patch map of every layer, to a new file in the current directory.
    static func export(_ map: PatchMap, image: ExplorerImage) -> String {
        let stem = ((image.name as NSString).lastPathComponent as NSString).deletingPathExtension
        var path = "\(stem)-patchmap.txt", n = 2
        while FileManager.default.fileExists(atPath: path) { path = "\(stem)-patchmap-\(n).txt"; n += 1 }
        do {
            try AtomicFile.write(Array(TextMap.render(map).utf8), to: path)
            return "export written to \(path)"
        } catch {
            return "export failed: \(error)"
        }
    }
}
