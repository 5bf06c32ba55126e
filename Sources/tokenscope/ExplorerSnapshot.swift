import ArgumentParser
import Engine
import Explorer
import Foundation

/// `explore --snapshot`: the options that say which screen to draw.
struct SnapshotOptions: ParsableArguments {
    @Option(help: "Draw what the screen would show into this PNG and exit (no terminal needed); a .txt file gets the screen's characters.")
    var snapshot: String?
    @Option(help: "Screen size of the snapshot, COLUMNSxROWS.") var size: String = "100x32"
    @Option(help: "Keys to press before the snapshot, as typed (e.g. 2 for the layer strip, lll for layer 4, 3 for the methods).")
    var keys: String = ""
    @Flag(help: "Overwrite an existing snapshot file.") var force = false

    /// COLUMNSxROWS as numbers.
    var dimensions: (width: Int, height: Int)? {
        let parts = size.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else { return nil }
        return (w, h)
    }

    func check() throws {
        guard let d = dimensions, d.width >= Renderer.minWidth, d.height >= Renderer.minHeight, d.width <= 400, d.height <= 200 else {
            throw ValidationError("--size must be COLUMNSxROWS between \(Renderer.minWidth)x\(Renderer.minHeight) and 400x200, got \(size)")
        }
        for ch in keys where ExplorerSnapshot.key(ch) == nil {
            throw ValidationError("--keys: \"\(ch)\" is not an explorer key (give the keys as typed: h j k l v m 1 2 3 t ...)")
        }
    }
}

/// Renders the explorer's screen without a terminal: the keys replayed through the state, every
/// analysis the screen needs computed, the frame drawn with the built-in font.
enum ExplorerSnapshot {
    static func write(to path: String, options: ExplorerOptions, images: [String], color: ColorChoice, snapshot o: SnapshotOptions) throws {
        if !o.force && FileManager.default.fileExists(atPath: path) {
            throw EngineError("\(path) exists: give another file, or --force to overwrite it")
        }
        let setup = try ExplorerSetup(options, images: images)
        // A picture has every colour: truecolor unless asked otherwise.
        let mode = color.mode ?? .truecolor
        let renderer = Renderer(modelName: setup.modelName, config: setup.engine.model.config, classNames: setup.classNames,
                                options: .init(color: mode, unicode: true))
        var state = setup.state
        var store = AnalysisStore()
        for ch in o.keys {
            if let k = key(ch) { _ = state.handle(k) }
        }
        try store.fill(for: state, using: setup.engine)
        guard let d = o.dimensions else { throw EngineError("--size must be COLUMNSxROWS") }
        let frame = renderer.render(state, analysis: store.analysis(for: state), methods: store.methodAnalyses(for: state),
                                    image: setup.engine.images[state.image], computing: false, width: d.width, height: d.height)
        if path.lowercased().hasSuffix(".txt") {
            try AtomicFile.write(Array((frame.text + "\n").utf8), to: path)
        } else {
            try PNGCodec.write(ScreenSnapshot.render(frame), to: path)
        }
        print("snapshot written to \(path) (\(d.width)x\(d.height) cells, \(mode.rawValue) colours)")
    }

    /// A key as typed on the command line.
    static func key(_ ch: Character) -> ExplorerState.Key? {
        guard ch.isASCII, ch != "\n", ch != "q", ch != "e" else { return nil }
        return .char(ch)
    }
}
