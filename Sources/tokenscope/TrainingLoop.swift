import ArgumentParser
import Compression
import Engine
import Foundation

/// Set by SIGINT/SIGTERM; the training loop checks it between steps, writes a checkpoint and stops.
nonisolated(unsafe) var stopRequested: Int32 = 0

/// What is scored after each epoch: the held-out validation images (`--validation-images`) and the
/// test images (`--test-images`), either absent when not asked for.
struct EpochScores {
    var validation: EvalResult?
    var test: EvalResult?

    /// Scores `model()` (built only when something is scored) on all of `validation` and the first
    /// `testLimit` of `test`.
    static func measure(_ model: () -> AnyModel, validation: IDXDataset?, test: IDXDataset?, testLimit: Int, threads: Int) -> EpochScores {
        guard validation != nil || test != nil else { return EpochScores() }
        let m = model()
        return EpochScores(validation: validation.map { evaluate(m, on: $0, limit: $0.count, threads: threads) },
                           test: test.map { evaluate(m, on: $0, limit: testLimit, threads: threads) })
    }

    /// " (validation top-1 V%, test top-1 T%)" from a finished file's metadata, or "".
    static func summary(_ meta: [String: String]) -> String {
        let parts = [("validation", meta["validation_top1"]), ("test", meta["test_top1"])].compactMap { name, v in v.map { "\(name) top-1 \($0)%" } }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    /// The finished file's keys: validation_top1/_images and test_top1/_images over every image of
    /// each set; the last epoch's scores are reused when they covered every image (same weights).
    static func finalMetadata(last: EpochScores?, _ model: () -> AnyModel, validation: IDXDataset?, test: IDXDataset?, threads: Int) -> [String: String] {
        var out: [String: String] = [:]
        for (name, set, previous) in [("validation", validation, last?.validation), ("test", test, last?.test)] {
            guard let set else { continue }
            let e = previous.flatMap { $0.images == set.count ? $0 : nil } ?? evaluate(model(), on: set, limit: set.count, threads: threads)
            out["\(name)_top1"] = String(format: "%.2f", e.top1)
            out["\(name)_images"] = String(e.images)
        }
        return out
    }
}

/// The loop `train` and `finetune` share: steps with a progress bar (stderr) and a JSON-lines log,
/// validation and test scores after each epoch, atomic checkpoints every few minutes, at epoch ends and on Ctrl-C.
enum TrainingLoop {
    /// Returns true when the run finished all its epochs (false: stopped by --max-steps).
    static func run(_ trainer: Trainer, checkpoint path: String, log logPath: String, metadata meta: [String: String],
                    checkpointMinutes: Double, maxSteps: Int?, banner: String,
                    evaluate: () -> EpochScores) throws -> Bool {
        let logFile = try JSONLinesLog(path: logPath)
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        let progress = ProgressReporter(epochs: trainer.settings.epochs, totalSteps: trainer.totalSteps, startStep: trainer.state.globalStep)
        progress.message("\(banner); step \(trainer.state.globalStep)/\(trainer.totalSteps); checkpoint \(path)")
        var lastSave = Clock.now()
        var runLoss = 0.0, runCorrect = 0, runImages = 0, steps = 0, sessionImages = 0
        let sessionStart = Clock.now()
        func save(_ why: String) throws {
            try trainer.saveCheckpoint(to: path, extraMetadata: meta)
            lastSave = Clock.now()
            _ = logFile.write(["event": "checkpoint", "why": why, "step": trainer.state.globalStep, "path": path])
        }
        while !trainer.isFinished {
            if let maxSteps, steps >= maxSteps { break }
            let t0 = Clock.now()
            let epochBefore = trainer.state.epoch
            let r = trainer.step()
            trainer.stateTime(add: Clock.now() - t0)
            steps += 1
            sessionImages += r.images
            runLoss += r.loss * Double(r.images); runCorrect += r.correct; runImages += r.images
            progress.update(epoch: epochBefore + 1, step: trainer.state.globalStep, loss: runLoss / Double(runImages),
                            accuracy: 100 * Double(runCorrect) / Double(runImages), images: sessionImages)
            if trainer.state.globalStep % 50 == 0 {
                _ = logFile.write(["event": "step", "step": trainer.state.globalStep, "epoch": epochBefore + 1,
                                   "loss": runLoss / Double(runImages), "train_top1": 100 * Double(runCorrect) / Double(runImages),
                                   "lr": Double(r.lr), "grad_norm": Double(r.gradNorm),
                                   "images_per_s": Double(sessionImages) / (Clock.now() - sessionStart)])
                runLoss = 0; runCorrect = 0; runImages = 0
            }
            if trainer.state.epoch != epochBefore {
                var fields: [String: Any] = ["event": "epoch", "epoch": epochBefore + 1, "step": trainer.state.globalStep]
                let scores = evaluate()
                if let e = scores.validation {
                    fields["val_top1"] = e.top1; fields["val_loss"] = e.loss
                    progress.message(String(format: "epoch %d: validation top-1 %.2f%% (loss %.4f) on %d held-out training images", epochBefore + 1, e.top1, e.loss, e.images))
                }
                if let e = scores.test {
                    trainer.recordTest(top1: e.top1)
                    fields["test_top1"] = e.top1; fields["test_loss"] = e.loss
                    progress.message(String(format: "epoch %d: test top-1 %.2f%% (loss %.4f) on %d images", epochBefore + 1, e.top1, e.loss, e.images))
                }
                _ = logFile.write(fields)
                try save("epoch")
            } else if Clock.now() - lastSave > checkpointMinutes * 60 {
                try save("timer")
            }
            if stopRequested != 0 {
                try save("interrupted")
                progress.finish()
                printError("interrupted: checkpoint written to \(path); continue with the same command and --resume")
                throw ExitCode(130)
            }
        }
        progress.finish()
        if !trainer.isFinished {
            try save("max-steps")
            print("stopped after \(steps) steps (--max-steps); checkpoint \(path)")
            return false
        }
        return true
    }
}
