import ArgumentParser
import Engine
import Foundation

/// `tokenscope`: the command-line entry point. Subcommands live one per file; each is thin and
/// leaves the work to the engine.
@main
struct TokenScope: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "tokenscope",
        abstract: "Explore token compression (Prune and Merge, ToMe, EViT, PiToMe, DiffRate) in Vision Transformers, from a terminal.",
        discussion: """
        TokenScope runs timm ViT/DeiT checkpoints (safetensors) on the CPU with its own engine. Matrix products: oneDNN, whose JIT kernels follow the CPU's instruction set (see `tokenscope --version`); the engine's workers each run one-thread products, so --threads is the number of cores used.
        """,
        version: TokenScope.versionString,
        subcommands: [Explore.self, Export.self, Demo.self, Infer.self, Bench.self, Train.self, Eval.self, Calibrate.self, Compress.self, Finetune.self, Table.self, Compare.self, Probe.self, Samples.self],
        defaultSubcommand: Explore.self
    )

    /// Like ArgumentParser's default `main`, but a failure prints one line on stderr (the usage text
    /// stays behind `--help`), as every TokenScope error does.
    static func main() {
        BacktraceSetting.ensureNonInteractive()
        CPUPlacement.undoOpenMPPin()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            if !message.isEmpty {
                let sub = CommandLine.arguments.dropFirst().first { !$0.hasPrefix("-") } ?? ""
                printError(message + " (see `tokenscope \(sub.isEmpty ? "" : sub + " ")--help`)")
            }
            Foundation.exit(code.rawValue)
        }
    }

    static var versionString: String {
        let s = BLAS.configure()
        return "tokenscope \(version)\nmatrix products: \(s.core); \(s.note)\n\(s.config)"
    }
}

/// Runs a subcommand body, turning engine errors into one line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    BLAS.configure()
    do {
        try body()
    } catch let e as EngineError {
        printError(e.message)
        throw ExitCode(1)
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("tokenscope: \(message)\n".utf8))
}

/// Engine workers default to one per core.
var defaultThreads: Int { CPUPlacement.usableCount }
