import Foundation

/// The images of an `ImageFolder`, decoded and preprocessed on worker threads ahead of the model,
/// handed out one by one in the folder's order.
///
/// Why threads of its own: decoding a JPEG and resizing it takes a few milliseconds, about what a
/// small model spends on a forward pass, so doing it in line would halve the speed; the engine's
/// own thread pool runs one job at a time, so the decoders cannot borrow it. `workers` threads each
/// claim the next file, decode it and park the result in its slot; they stay at most `window`
/// images ahead of the consumer (bounded memory: window x one model input).
///
/// Unreadable files (broken, truncated, not PNG or JPEG, unreadable) never stop the stream unless
/// `strict`: they are skipped and listed in `skipped`, and `skippedSummary` says so in one line.
public final class ImageStream: @unchecked Sendable {
    public struct Sample: Sendable {
        /// Position in the folder's listing.
        public let index: Int
        public let path: String
        /// The model input, [C, S, S].
        public let input: [Float]
        public let label: Int?
    }

    public struct Skipped: Sendable {
        public let path: String
        public let reason: String
    }

    public let folder: ImageFolder
    public let strict: Bool
    private let transform: @Sendable (RGBImage) throws -> [Float]
    private let window: Int
    private let cond = NSCondition()
    private var slots: [Result<[Float], Error>?]
    private var claimed = 0
    private var consumed = 0
    private var stopped = false
    public private(set) var skipped: [Skipped] = []

    /// Starts `workers` decoding threads at once. `transform` turns a decoded image into the
    /// model input (usually `Preprocess.preprocess` with the model's config).
    public init(_ folder: ImageFolder, workers: Int, window: Int = 64, strict: Bool = false,
                transform: @escaping @Sendable (RGBImage) throws -> [Float]) {
        self.folder = folder
        self.strict = strict
        self.transform = transform
        self.window = max(1, window)
        slots = Array(repeating: nil, count: folder.count)
        let n = max(1, min(workers, folder.count))
        for _ in 0..<n {
            let t = Thread { [self] in work() }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// The stream for a model: each image through timm's eval transform with `cfg`.
    public convenience init(_ folder: ImageFolder, preprocess cfg: PreprocessConfig, workers: Int,
                            window: Int = 64, strict: Bool = false) {
        self.init(folder, workers: workers, window: window, strict: strict) { try Preprocess.preprocess($0, cfg) }
    }

    /// The next readable image, nil at the end. With `strict`, an unreadable file throws its
    /// `ImageError` (the stream is then finished).
    public func next() throws -> Sample? {
        while true {
            cond.lock()
            while consumed < slots.count && slots[consumed] == nil && !stopped { cond.wait() }
            guard !stopped, consumed < slots.count, let result = slots[consumed] else { cond.unlock(); return nil }
            let i = consumed
            slots[i] = nil
            consumed += 1
            cond.broadcast()
            cond.unlock()
            switch result {
            case .success(let input):
                return Sample(index: i, path: folder.files[i], input: input, label: folder.labels?[i])
            case .failure(let error):
                if strict { finish(); throw error }
                skipped.append(Skipped(path: folder.files[i], reason: "\(error)"))
            }
        }
    }

    /// Fills up to `max` images into `images` (consecutive [C, S, S] inputs of `per` floats) and
    /// their labels; returns how many (0 at the end).
    public func nextBatch(max: Int, per: Int, into images: UnsafeMutablePointer<Float>,
                          labels: UnsafeMutablePointer<Int32>?) throws -> Int {
        var n = 0
        while n < max, let s = try next() {
            s.input.withUnsafeBufferPointer { src in
                guard let base = src.baseAddress else { return }
                (images + n * per).update(from: base, count: Swift.min(per, src.count))
            }
            labels?[n] = Int32(s.label ?? 0)
            n += 1
        }
        return n
    }

    /// Stops the workers (they finish the file in hand). Call when done early; harmless twice.
    public func finish() {
        cond.lock()
        stopped = true
        cond.broadcast()
        cond.unlock()
    }

    /// "skipped 2 of 500 images that could not be read: a.jpg (...), b.png (...)", or nil.
    public var skippedSummary: String? {
        guard !skipped.isEmpty else { return nil }
        let shown = skipped.prefix(3).map { "\($0.reason)" }.joined(separator: " | ")
        return "skipped \(skipped.count) of \(consumed) images that could not be read: \(shown)" +
            (skipped.count > 3 ? " | and \(skipped.count - 3) more" : "") + " (--strict makes this an error)"
    }

    private func work() {
        while true {
            cond.lock()
            while !stopped && claimed < slots.count && claimed - consumed >= window { cond.wait() }
            if stopped || claimed >= slots.count {
                cond.unlock()
                return
            }
            let i = claimed
            claimed += 1
            cond.unlock()
            let path = folder.files[i]
            let result = Result { try transform(try ImageReader.read(path: path)) }
            cond.lock()
            slots[i] = result
            cond.broadcast()
            cond.unlock()
        }
    }
}
