import Foundation

/// The Swift runtime's crash reporter, set so that a crash never waits for a key.
///
/// On a terminal the backtracer is interactive by default: after the report it waits 30 s for a key
/// ("Press space to interact, D to debug, or any other key to quit"), so a crash in the explorer
/// looked like a frozen program and its exit status came late. The runtime reads `SWIFT_BACKTRACE`
/// once, when the process starts, so when the variable says nothing about `interactive` the CLI
/// adds `interactive=no` and re-executes itself once (the report itself stays on; a setting the user
/// made is kept as it is).
enum BacktraceSetting {
    static func ensureNonInteractive() {
        let current = ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] ?? ""
        guard !current.contains("interactive") else { return }
        guard isatty(0) != 0 || isatty(1) != 0 || isatty(2) != 0 else { return }  // interactive only on a terminal
        setenv("SWIFT_BACKTRACE", current.isEmpty ? "interactive=no" : current + ",interactive=no", 1)
        // The binary's own path (not /proc/self/exe), so the process keeps its name in ps and top.
        var path = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &path, path.count - 1)
        guard n > 0 else { return }
        execv(path, CommandLine.unsafeArgv)
        // exec failed: go on with the runtime's defaults.
    }
}
