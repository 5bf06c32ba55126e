import ArgumentParser
import Compression
import Engine
import Explorer
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an image's patch maps (which tokens each layer prunes, merges and restores) as text, JSON, CSV or PNG.",
        discussion: """
        Runs what the explorer shows for one image (live scores, the plan, the dense and the compressed passes) and writes it without a terminal.
        text: a header, a legend and per layer the patch states (A-Z group center, a-z member, . pruned, : kept with no center, # own token, - dropped) beside the restore error digits; byte-identical for the same input, made for diffs.
        json: one object (header fields and a `layers` array with each patch's state, group, center, weight, score and restore error; see the README).
        csv: one row per layer and patch: layer,patch,row,col,state,group,center,score,weight,restore_error.
        png: the image and one overlay panel per layer, side by side.
        Layers are numbered from 1, patches from 0 (row-major, CLS excluded).
        Without -o the output goes to stdout (PNG needs -o); with -o it is written atomically and an existing file is kept unless --force. Given a folder of images (every image in it, sorted, as `explore DIR` opens them), -o is a folder and each image's map is written to it as its relative path with / replaced by _, plus .txt, .json, .csv or .png.
        """
    )

    @Argument(help: "The image (PNG or JPEG), or a folder of images: then -o names a folder (created if missing) that gets one file per image, named after it.") var image: String
    @OptionGroup var options: ExplorerOptions
    // Not `MethodOptions`: the export shows what the explorer shows, so a method's budget defaults
    // to the one the keep ratio gives (ToMe's r: infer/eval/bench require it) and there is no dense.
    @Option(help: ArgumentHelp("Method: \(ExplorerState.Method.allCases.map { $0.method.id }.joined(separator: ", ")); all but pm run on the dense model, at the budget --keep gives unless their own options set one. Default: pm, or the method a file fine-tuned under one records (`finetune --method`), with its settings.",
                               valueName: "METHOD")) var method: String?
    @OptionGroup var settings: MethodArgumentOptions
    @Option(help: "Score source for the plan: calibrated (the ranks file: static plan) or image (live forward + backward on this image). Default: calibrated when ranks exist, else image; a --pm file uses its own plan.")
    var scores: String?
    @Option(help: "Layer to write, from 1, or all.") var layer: String = "all"
    @Option(help: "text, json, csv or png.") var format: String = "text"
    @Option(name: .shortAndLong, help: "Output file (default: stdout).") var output: String?
    @Flag(help: "Overwrite an existing output file.") var force = false

    func validate() throws {
        guard ["text", "json", "csv", "png"].contains(format) else { throw ValidationError("--format must be text, json, csv or png") }
        let shown = ExplorerState.Method.allCases.map { $0.method.id }
        if let method, !shown.contains(method) { throw ValidationError("--method must be one of " + shown.joined(separator: ", ")) }
        if let m = MethodRegistry.method(id: method ?? PruneAndMerge.id), method != nil || !((try? settings.parsed().given.isEmpty) ?? true) {
            do { try settings.parsed().check(for: m) } catch let e as MethodArgumentError { throw ValidationError(e.description) }
        }
        if let scores, !["calibrated", "image"].contains(scores) { throw ValidationError("--scores must be calibrated or image") }
        if layer != "all" { guard let l = Int(layer), l >= 1 else { throw ValidationError("--layer must be a layer number from 1, or all") } }
        if format == "png" && output == nil { throw ValidationError("--format png needs -o FILE.png (a picture does not go to a terminal)") }
    }

    func run() throws {
        try reportingErrors {
            var isDir: ObjCBool = false
            let folder = FileManager.default.fileExists(atPath: image, isDirectory: &isDir) && isDir.boolValue
            if folder {
                guard let output else { throw EngineError("\(image) is a folder: give -o OUTDIR, the folder that gets one file per image") }
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } else if let output, !force, FileManager.default.fileExists(atPath: output) {
                throw EngineError("\(output) exists; pass --force to overwrite it")
            }
            var setup = try ExplorerSetup(options, images: [image])
            let depth = setup.engine.model.config.depth
            var layers: [Int]?
            if let l = Int(layer) {
                guard l <= depth else { throw EngineError("--layer \(l): the model has \(depth) layers (1-\(depth))") }
                layers = [l - 1]
            }
            switch scores {
            case "calibrated"?:
                guard setup.state.hasCalibratedRanks else {
                    throw EngineError("--scores calibrated needs a ranks file (--ranks RANKS.safetensors from `tokenscope calibrate`)")
                }
                setup.state.scoreSource = .calibrated
            case "image"?: setup.state.scoreSource = .image
            default: break
            }
            if let method, let shown = ExplorerState.Method.allCases.first(where: { $0.method.id == method }) { setup.state.method = shown }
            let given = try settings.parsed()
            if method != nil || !given.given.isEmpty { setup.state.methodArguments = given }
            guard folder, let dir = output else {
                try write(setup, layers: layers, image: 0, to: output)
                return
            }
            let ext = format == "text" ? "txt" : format
            var skipped: [String] = []
            for i in setup.engine.images.indices {
                _ = setup.engine.images[i].pixels  // decode now, to skip what cannot be read
                if let problem = setup.engine.images[i].source.problem {
                    skipped.append(problem)
                    continue
                }
                let name = setup.engine.images[i].name.replacingOccurrences(of: "/", with: "_")
                let path = dir + "/" + ((name as NSString).deletingPathExtension) + "." + ext
                if !force, FileManager.default.fileExists(atPath: path) {
                    throw EngineError("\(path) exists; pass --force to overwrite it")
                }
                setup.state.image = i
                try write(setup, layers: layers, image: i, to: path)
            }
            if !skipped.isEmpty {
                printError("skipped \(skipped.count) of \(setup.engine.images.count) images that could not be read: " +
                           skipped.prefix(3).joined(separator: " | ") + (skipped.count > 3 ? " | and \(skipped.count - 3) more" : ""))
            }
        }
    }

    /// One image's map in --format, to `output` (atomically) or stdout.
    private func write(_ setup: ExplorerSetup, layers: [Int]?, image i: Int, to output: String?) throws {
        let map = try setup.patchMap(layers: layers)
        let bytes: [UInt8]
        switch format {
        case "json": bytes = Array(JSONMap.render(map).utf8)
        case "csv": bytes = Array(CSVMap.render(map).utf8)
        case "png":
            let fig = FigureMap.render(map, image: setup.engine.images[i])
            guard let output else { return }
            try PNGCodec.write(fig, to: output)
            printError("wrote \(output) (\(fig.width)x\(fig.height))")
            return
        default: bytes = Array(TextMap.render(map).utf8)
        }
        if let output {
            try AtomicFile.write(bytes, to: output)
            printError("wrote \(output)")
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
