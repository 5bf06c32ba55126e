import Compression
import Engine
import Explorer
import Foundation

/// One fuzz target per parser and the explorer's key reducer, chosen by `TOKENSCOPE_FUZZ_TARGET`
/// (libFuzzer owns `main`, so one binary serves every target; `.ci/fuzz` runs each).
///
/// Built with `--sanitize=fuzzer -Xswiftc -DFUZZING` this is a libFuzzer binary. Built plainly it
/// replays files: `tokenscope-fuzz TARGET FILE...` runs each file through the target once, which is
/// how the committed corpora and every crash found become regression tests (`FuzzReplayTests`).
/// A target may throw (bad input is refused with an error); it must never trap, hang or leak.
enum FuzzTarget: String, CaseIterable {
    /// A safetensors file: header, config resolution, the name -> shape check both ways, reading.
    case safetensors
    /// A Prune and Merge file: the dense model plus merge, recover and layout tensors.
    case pm
    /// A ranks file (`seq_ranks.{i}`) for a fixed small model.
    case ranks
    /// PNG or JPEG bytes, chosen by their first bytes, then the eval transform.
    case image
    /// An IDX image file and label file: the first byte says where the input splits in two.
    case idx
    /// Key sequences and window sizes through the explorer's reducer and renderer.
    case keys
    /// A schedule file (`--schedule`), whole or with a DiffRate table entry picked, then DiffRate,
    /// ToMe and EViT made from it on a small model and one image run through each.
    case schedule

    func run(_ bytes: [UInt8]) {
        switch self {
        case .safetensors:
            guard let file = try? SafeTensorsFile(bytes: bytes, source: "fuzz") else { return }
            _ = try? ViTModel(file: file)
        case .pm:
            guard let file = try? SafeTensorsFile(bytes: bytes, source: "fuzz") else { return }
            _ = try? PMModel(file: file)
        case .ranks:
            guard let file = try? SafeTensorsFile(bytes: bytes, source: "fuzz") else { return }
            _ = try? Calibration.load(file: file, for: Fixed.config)
        case .image:
            guard let img = try? ImageReader.decode(bytes, name: "fuzz", maxPixels: 1 << 22) else { return }
            _ = try? Preprocess.preprocess(img, .imagenet(size: 32))
        case .idx:
            guard let first = bytes.first else { return }
            let rest = Array(bytes.dropFirst())
            let cut = rest.isEmpty ? 0 : Int(first) * rest.count / 255
            guard let images = try? IDXDataset.gunzipIfNeeded(Array(rest[..<cut]), path: "fuzz-images"),
                  let labels = try? IDXDataset.gunzipIfNeeded(Array(rest[cut...]), path: "fuzz-labels") else { return }
            _ = try? IDXDataset.decode(images: images, labels: labels, imagePath: "fuzz-images", labelPath: "fuzz-labels")
        case .keys:
            KeyFuzz.run(bytes)
        case .schedule:
            for selector in [nil, "ViT-S-DeiT/2.9"] {
                guard let s = try? TokenSchedule.parse(Data(bytes), selector: selector, source: "fuzz", label: "fuzz"),
                      let dense = Fixed.model else { continue }
                let models: [(any CompressedModel)?] = [try? DiffRateModel(dense: dense, schedule: s),
                                                        try? ToMe.model(dense: dense, settings: .init(schedule: .tokens(s))),
                                                        try? EViT.model(dense: dense, settings: .init(schedule: s))]
                let image = [Float](repeating: 0.25, count: 256)
                for case let m? in models {
                    let pass = m.makePass(batch: 1, recordLayouts: true)
                    image.withUnsafeBufferPointer { x in
                        if let p = x.baseAddress { pass.forward(images: p, batch: 1, workers: 1, afterBlock: nil) }
                    }
                    for l in 0..<dense.config.depth { _ = pass.patchStates(layer: l, image: 0) }
                }
            }
        }
    }
}

/// A small model and what the explorer needs of it, made once per process.
enum Fixed {
    static let config = ViTConfig(imageSize: 16, patchSize: 4, channels: 1, dim: 16, depth: 3, heads: 2, numClasses: 3)
    /// The small model with fixed pseudo-random weights.
    static let model: ViTModel? = {
        guard let model = try? ViTModel(config: config) else { return nil }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<model.table.count {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            model.params.base[i] = Float(Int64(bitPattern: seed >> 11) % 1000) / 3000
        }
        return model
    }()
    static let engine: ExplorerEngine? = {
        guard let model else { return nil }
        var images: [ExplorerImage] = []
        for k in 0..<3 {
            var input = [Float](repeating: 0, count: 256)
            for j in 0..<256 { input[j] = Float((j * (k + 3)) % 17) / 8 - 1 }
            images.append(ExplorerImage(name: "img\(k)", label: k, input: input,
                                        pixels: [UInt8](repeating: UInt8(40 * k), count: 256 * 3), size: 16))
        }
        return ExplorerEngine(model: model, ranks: nil, images: images, classNames: ["a", "b", "c"], workers: 1)
    }()
}

/// Bytes as explorer input: each byte is a key (or, after 0xFF, a window size), the state's
/// invariants are checked after every key, and every recompute and redraw runs for real.
enum KeyFuzz {
    static let keys: [ExplorerState.Key] = [.left, .right, .up, .down, .home, .end, .tab, .escape, .ctrlL, .resize,
                                            .shiftLeft, .shiftRight, .shiftUp, .shiftDown, .select(patch: nil), .select(patch: 3)]
        + Array("hjklHJKLnpmMtTsSgGrRfFvVbBeEoOxXcC123?q[]+-= ").map { .char($0) }

    static func run(_ bytes: [UInt8]) {
        guard let engine = Fixed.engine else { return }
        let c = Fixed.config
        var s = ExplorerState(depth: c.depth, grid: c.grid, imageCount: engine.images.count, hasCalibratedRanks: false)
        let renderer = Renderer(modelName: "fuzz", config: c, classNames: engine.classNames, options: .init(color: .c256, unicode: true))
        var width = 80, height = 24
        var analysis: Analysis?
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == 0xFF, i + 1 < bytes.count {
                width = Int(bytes[i]) + 1; height = Int(bytes[i + 1]) / 2 + 1
                i += 2
                continue
            }
            let key: ExplorerState.Key = b >= 0xF0 && i < bytes.count
                ? .click(x: Int(bytes[i]) % max(1, width), y: Int(b & 0x0F) * max(1, height) / 16) : keys[Int(b) % keys.count]
            if case .click = key { i += 1 }
            let effects = s.handle(key, screenFits: Renderer.fits(width: width, height: height))
            precondition(s.layer >= 0 && s.layer < c.depth, "layer \(s.layer) out of range")
            precondition(s.image >= 0 && s.image < engine.images.count, "image \(s.image) out of range")
            precondition(s.keep >= 0 && s.keep <= 1 && s.prune >= 0 && s.keep + s.prune <= 1 + 1e-9, "keep \(s.keep) prune \(s.prune)")
            if effects.contains(.recompute) { analysis = try? engine.analyse(s) }
            if s.quit { return }
            _ = renderer.render(s, analysis: analysis, image: engine.images[s.image], computing: false, width: width, height: height)
        }
    }
}

#if FUZZING
nonisolated(unsafe) let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["TOKENSCOPE_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set TOKENSCOPE_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selectedTarget.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
struct Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: tokenscope-fuzz TARGET FILE... (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        var count = 0
        for path in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("tokenscope-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            target.run([UInt8](data))
            count += 1
        }
        print("\(target.rawValue): \(count) inputs, no crash")
    }
}
#endif
