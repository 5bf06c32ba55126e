import ArgumentParser
import Engine
import Foundation

struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one test image per class as a PNG, for trying models and the explorer.",
        discussion: "Takes the first image of each class from the test split, in class order, and writes NN-name.png plus labels.txt (file, class id, class name per line). The shipped assets/images were made with: tokenscope samples --out assets/images"
    )

    @Option(help: "Folder with the IDX files.") var data: String = IDXDataset.defaultDirectory
    @Option(help: "Output folder (created if missing).") var out: String
    @Option(help: "Upscale each pixel to an NxN block (1 keeps 28x28).") var scale: Int = 1

    func validate() throws {
        guard scale >= 1, scale <= 32 else { throw ValidationError("--scale must be between 1 and 32") }
    }

    func run() throws {
        try reportingErrors {
            let test = try IDXDataset.load(directory: data, split: .test)
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw EngineError("cannot create \(out): \(error.localizedDescription)")
            }
            let names = IDXDataset.fashionClassNames
            var lines: [String] = []
            for cls in 0..<names.count {
                guard let i = (0..<test.count).first(where: { Int(test.labels[$0]) == cls }) else { continue }
                let w = test.cols * scale, h = test.rows * scale
                var px = [UInt8](repeating: 0, count: w * h)
                for y in 0..<h { for x in 0..<w { px[y * w + x] = test.images[i * test.rows * test.cols + (y / scale) * test.cols + x / scale] } }
                let slug = names[cls].lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
                let file = String(format: "%02d-", cls) + slug + ".png"
                try PNGCodec.writeGray(width: w, height: h, pixels: px, to: out + "/" + file)
                lines.append("\(file)\t\(cls)\t\(names[cls])\ttest image \(i)")
            }
            try AtomicFile.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: out + "/labels.txt")
            print("wrote \(lines.count) images and labels.txt to \(out)")
        }
    }
}
