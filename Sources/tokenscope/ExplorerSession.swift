import Compression
import Engine
import Explorer
import Foundation
import TerminalUI

/// The interactive session behind `explore` and `demo`: loads everything, falls back to the text
/// patch map without a terminal, otherwise runs the key loop.
enum ExplorerSession {
    static func run(options: ExplorerOptions, images: [String], color: ColorChoice, demoInterval: Double?) throws {
        SessionMemory.configure()  // before the first product makes a primitive
        let setup = try ExplorerSetup(options, images: images)
        if let reason = Terminal.unavailableReason() {
            print(TextMap.render(try setup.patchMap()), terminator: "")
            printError("\(reason): printed the text patch map; run `tokenscope \(demoInterval == nil ? "explore" : "demo")` in a terminal for the interactive view")
            return
        }
        let term: Terminal
        do {
            term = try Terminal(colorPreference: color.mode)
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

    /// Keys on the main thread, analyses on one background queue, one job at a time: first every
    /// analysis the screen needs (`AnalysisStore.missing`), then, while the user looks, the next and
    /// previous images' dense pass and live scores (`ExplorerEngine.prepare`), so `n`/`p` find them
    /// ready. Results are kept by the settings they were computed for, so nothing computed is
    /// dropped and going back is instant. A frame is sent only when it differs from the last one
    /// (the demo must not flood a slow link).
    static func loop(term: Terminal, renderer: Renderer, setup: ExplorerSetup, state: inout ExplorerState,
                     demo: inout DemoPlayer?) throws {
        let engine = setup.engine
        let queue = DispatchQueue(label: "tokenscope.analysis")
        let mailbox = Mailbox()
        var store = AnalysisStore()
        var failed: [Analysis.Key] = []
        var prepared: Set<Int> = []
        var shown: Analysis?
        var busy = false
        var inFlight: Analysis.Key?
        var lastKey = Clock.now()
        func startNext(_ s: ExplorerState) {
            guard !busy else { return }
            if let want = AnalysisStore.needed(for: s).first(where: { store.analysis(for: $0) == nil && !failed.contains(Analysis.Key($0)) }) {
                busy = true
                inFlight = Analysis.Key(want)
                queue.async {
                    mailbox.put(.analysis(Result { try engine.analyse(want) }))
                    Heap.releaseFree()  // while the key loop draws the result (see Heap)
                }
                return
            }
            // Prepare only once the user pauses: the queue runs one job at a time, and a key pressed
            // during a prepare waits for it (a forward and a backward pass).
            let n = s.imageCount
            if Clock.now() - lastKey > Self.idleBeforePrepare,
               let next = [(s.image + 1) % n, (s.image + n - 1) % n].first(where: { !prepared.contains($0) }) {
                prepared.insert(next)
                busy = true
                queue.async { engine.prepare(image: next); mailbox.put(.prepared) }
            }
        }
        func apply(_ k: ExplorerState.Key) {
            let (w, h) = term.currentSize
            for effect in state.handle(k, screenFits: Renderer.fits(width: w, height: h)) {
                switch effect {
                case .recompute, .redraw: break
                case .export:
                    // Only a result for what is on screen: the file's header must describe its grids.
                    if let a = store.analysis(for: state) {
                        state.status = export(setup.patchMap(a, state: state), image: engine.images[state.image])
                    } else {
                        state.status = "nothing to export yet: still computing (press e again in a moment)"
                    }
                }
            }
        }
        var last: CellBuffer?
        while !state.quit {
            if let got = mailbox.take() {
                busy = false
                switch got {
                case .analysis(.success(let a)): store.insert(a)
                case .analysis(.failure(let e)):
                    if let key = inFlight { failed.append(key) }
                    state.status = "\(e)"
                case .prepared: break
                }
            }
            startNext(state)
            let own = store.analysis(for: state)
            if let own { shown = own }
            // While the result is computed the last one stays on screen, but never another image's.
            if shown?.key.image != state.image { shown = nil }
            let (w, h) = term.size
            // On a too-small screen the demo waits: its keys would be ignored there, and the script go on without them.
            if var d = demo, let k = d.tick(now: Clock.now(), busy: busy || !Renderer.fits(width: w, height: h)) {
                state.status = ""
                apply(k)
                demo = d
            }
            let frame = renderer.render(state, analysis: own ?? shown, methods: store.methodAnalyses(for: state),
                                        image: engine.images[state.image], computing: own == nil, width: w, height: h,
                                        caption: demo?.shownCaption)
            if frame != last {
                term.draw(frame)
                last = frame
            }
            // Poll fast while a result is on its way, so it shows as soon as it is in.
            guard var k = term.readKey(timeoutMs: busy ? 5 : 50) else { continue }
            if case .click(let x, let y) = k {
                let (w, h) = term.size
                k = .select(patch: renderer.patch(atX: x, y: y, width: w, height: h, layout: state.layout, layer: state.layer, method: state.method))
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
            lastKey = Clock.now()
            apply(k)
        }
        // Let a running analysis finish before the engine goes away.
        queue.sync {}
    }

    /// Seconds without a key before the neighbouring images are prepared.
    static let idleBeforePrepare = 0.3

    /// What the analysis queue hands back to the key loop.
    enum Delivery { case analysis(Result<Analysis, Error>), prepared }

    /// One delivery at a time from the analysis queue to the key loop.
    final class Mailbox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Delivery?
        func put(_ v: Delivery) { lock.lock(); value = v; lock.unlock() }
        func take() -> Delivery? { lock.lock(); defer { value = nil; lock.unlock() }; return value }
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
