import Engine
import Foundation

/// Finds files under the repository's `assets/` folder: `$TOKENSCOPE_ASSETS` first, then the
/// folders above the executable (a build in `.build/release/` sits two levels below the checkout),
/// then the current directory.
enum Assets {
    static func find(_ relative: String) -> String? {
        var roots: [String] = []
        if let env = ProcessInfo.processInfo.environment["TOKENSCOPE_ASSETS"] { roots.append(env) }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(dir.appendingPathComponent("assets").path)
            dir.deleteLastPathComponent()
        }
        roots.append(FileManager.default.currentDirectoryPath + "/assets")
        for r in roots {
            let p = r + "/" + relative
            if FileManager.default.isReadableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Class names for a model: `--labels` file, then the model's metadata, then ImageNet-1k's for
    /// 1000-class models, else "class N".
    static func classNames(for model: ViTModel, labelsFile: String?) throws -> [String] {
        let k = model.config.numClasses
        if let labelsFile {
            let names = try readLines(labelsFile)
            guard names.count == k else {
                throw EngineError("\(labelsFile) has \(names.count) names but the model has \(k) classes; give one name per line, in class order")
            }
            return names
        }
        if let names = model.classNames { return names }
        if k == 1000, let p = find("labels/imagenet-1k.txt"), let names = try? readLines(p), names.count == 1000 { return names }
        return (0..<k).map { "class \($0)" }
    }

    static func readLines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError("cannot read \(path): no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw EngineError("\(path) is not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        while lines.last == "" { lines.removeLast() }
        return lines
    }
}
