import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that a reader (or a crash) never sees it half-written and nothing already on
/// disk is lost: the bytes go to a temporary file in the same directory, are flushed, and the
/// temporary file is renamed over the destination (rename(2) is atomic within a file system).
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
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
