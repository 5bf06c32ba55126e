import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that a reader (or a crash) never sees it half-written and nothing already on
/// disk is lost: the bytes go to a temporary file in the same directory, are flushed, and the
/// temporary file is renamed over the destination (rename(2) is atomic within a file system).
///
/// A process killed mid-write (SIGKILL, a power cut) leaves its temporary file behind; the next write
/// to the same path removes every such file whose process is gone, so none pile up.
public enum AtomicFile {
    /// The temporary file this process writes `path` through.
    public static func temporaryPath(for path: String) -> String { path + ".tmp-\(getpid())" }

    /// Removes `<path>.tmp-<pid>` files left by processes that no longer run (a live writer's file
    /// stays: two processes may write the same path, and the last rename wins).
    public static func removeAbandonedTemporaries(of path: String) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path, prefix = url.lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink((dir.isEmpty ? "." : dir) + "/" + name) }
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        removeAbandonedTemporaries(of: path)
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw EngineError("cannot write \(path): \(String(cString: strerror(errno))); check that the directory exists and is writable")
        }
        var ok = true
        var err: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let r = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    ok = false; err = errno; return
                }
                done += r
            }
        }
        if ok && fsync(fd) != 0 { ok = false; err = errno }
        close(fd)
        if ok && rename(tmp, path) != 0 { ok = false; err = errno }
        if !ok {
            unlink(tmp)
            throw EngineError("cannot write \(path): \(String(cString: strerror(err)))")
        }
    }
}
