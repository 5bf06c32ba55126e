import ArgumentParser
import Engine
import Foundation

/// Options every long training job shares (`train`, `finetune`): data, output, checkpoints, logs.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Training data: a folder of IDX files (train-images-idx3-ubyte.gz, ...; the default), or image folders: DIR/train and DIR/test (or DIR/val), each one subfolder per class (torchvision's ImageFolder; class ids in sorted name order), or DIR with one subfolder per class (then nothing is tested). Images are made gray ('L') and brought to the model's size (shorter side resized bicubic, center crop).", valueName: "dir")) var data: String = IDXDataset.defaultDirectory
    @Option(help: "Images per step.") var batchSize: Int = 128
    @Option(help: "AdamW weight decay.") var weightDecay: Float = 0.05
    @Option(help: "Label smoothing.") var smoothing: Float = 0.1
    @Option(help: "Random seed (weights, shuffles, augmentation).") var seed: UInt64 = 0
    @Option(help: "Where the finished model goes (safetensors).") var out: String
    @Option(help: "Checkpoint file (default: OUT with .ckpt.safetensors).") var checkpoint: String?
    @Option(help: "Minutes between checkpoints.") var checkpointMinutes: Double = 5
    @Option(help: "JSON-lines log (default: OUT with .log.jsonl).") var log: String?
    @Flag(help: "Continue from the checkpoint.") var resume = false
    @Option(help: "Stop after this many steps (pilots; the schedule still spans --epochs).") var maxSteps: Int?
    @Option(help: "Test images to score after each epoch (0 for none).") var testImages: Int = 10000
    @Option(help: "Hold out the last N training images for validation: never trained on, scored after each epoch (val_top1 in the log) and recorded in the finished file (validation_top1), so schedules and settings can be chosen without the test set (add --test-images 0 to leave it unseen). `eval --split validation --validation-images N` scores the same images. A resumed run keeps the checkpoint's N.") var validationImages: Int = 0
    @Option(help: "Worker threads.") var threads: Int = defaultThreads
    @Flag(help: "Stop at the first image of a folder that cannot be read (default: skip it and report it).") var strict = false

    func validate() throws {
        guard batchSize >= 1, batchSize <= 4096 else { throw ValidationError("--batch-size must be between 1 and 4096") }
        guard weightDecay >= 0, smoothing >= 0, smoothing < 1 else { throw ValidationError("--weight-decay or --smoothing out of range") }
        guard checkpointMinutes > 0 else { throw ValidationError("--checkpoint-minutes must be positive") }
        guard testImages >= 0 else { throw ValidationError("--test-images must be 0 or more") }
        guard validationImages >= 0 else { throw ValidationError("--validation-images must be 0 or more") }
    }

    /// The checkpoint `--resume` continues, or a clear error when there is none.
    func openCheckpoint() throws -> SafeTensorsFile {
        guard FileManager.default.fileExists(atPath: checkpointPath) else {
            throw EngineError("--resume: no checkpoint at \(checkpointPath); start without --resume or give --checkpoint")
        }
        return try SafeTensorsFile(path: checkpointPath)
    }

    var checkpointPath: String { checkpoint ?? Self.sibling(out, ".ckpt.safetensors") }
    var logPath: String { log ?? Self.sibling(out, ".log.jsonl") }

    /// The command line that started this run: on --resume the one the checkpoint recorded (`recorded`, read
    /// from its metadata), so the finished file says how it was made rather than how it was last restarted;
    /// otherwise this one.
    func startingCommand(recorded: String?) -> String {
        (resume ? recorded : nil) ?? "tokenscope " + CommandLine.arguments.dropFirst().joined(separator: " ")
    }

    static func sibling(_ path: String, _ suffix: String) -> String {
        (path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) : path) + suffix
    }
}
