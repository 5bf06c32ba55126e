import Foundation

/// Where an `ExplorerImage`'s pixels come from: given at once, or decoded on first use.
///
/// Why lazy: `explore DIR` on a folder such as ImageNet's validation set (50 000 photos) would need
/// 37 GB if every 224 x 224 input were made up front. A lazy source decodes when the explorer first
/// touches the image (the engine prepares the next and previous ones in the background, so walking
/// with n/p rarely waits), and only the `capacity` most recently loaded images stay in memory; an
/// evicted one is decoded again when it comes back. A file that fails to decode shows as a black
/// image whose name says why (the explorer has no place to throw).
public final class ImageSource: @unchecked Sendable {
    public typealias Loaded = (input: [Float], pixels: [UInt8])

    private let load: (@Sendable () throws -> Loaded)?
    private let fallback: Loaded
    private let lock = NSLock()
    private var cached: Loaded?
    private var failure: String?

    /// Loaded images kept, oldest first; shared by every lazy source.
    nonisolated(unsafe) private static var recent: [ImageSource] = []
    private static let recentLock = NSLock()
    public static let capacity = 96

    /// An image already in memory (never evicted).
    public init(_ value: Loaded) {
        load = nil
        fallback = value
        cached = value
    }

    /// An image made by `load` when first needed; `blank` stands in when it throws.
    public init(blank: Loaded, load: @escaping @Sendable () throws -> Loaded) {
        self.load = load
        fallback = blank
    }

    public var value: Loaded {
        lock.lock()
        if let cached { lock.unlock(); return cached }
        guard let load else { lock.unlock(); return fallback }
        let v: Loaded
        do { v = try load() } catch { failure = "\(error)"; v = fallback }
        cached = v
        lock.unlock()
        Self.remember(self)
        return v
    }

    /// Why the image could not be loaded, once it was tried.
    public var problem: String? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    private static func remember(_ s: ImageSource) {
        recentLock.lock()
        recent.append(s)
        let evicted = recent.count > capacity ? recent.removeFirst() : nil
        recentLock.unlock()
        if let evicted, evicted !== s {
            evicted.lock.lock()
            evicted.cached = nil
            evicted.lock.unlock()
        }
    }
}
