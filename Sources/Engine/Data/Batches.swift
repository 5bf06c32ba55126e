/// Dataset images to normalised float batches, with the training augmentation.
///
/// Output layout: images `[B, 1, rows, cols]` (NCHW, one channel), labels `[B]` as Int32.
/// Each pixel p (0...255) becomes `(p/255 - mean) / std` in Float, the same arithmetic as
/// torchvision's `ToTensor()` (`p / 255` in float32) followed by `Normalize(mean, std)`
/// (`(x - mean) / std`); a 256-entry table holds the 256 possible results.
///
/// Augmentation (torchvision `RandomCrop(size, padding: p)` then `RandomHorizontalFlip(0.5)`):
/// the image is padded with p zero pixels on every side (zero in pixel space, i.e. the value the
/// table gives for p = 0, -mean/std after normalisation), a window of the original size is cut at
/// offsets dy, dx drawn uniformly from 0...2p, and the result is mirrored left-right with
/// probability 1/2. As a formula, with sy = dy - p and sx = dx - p in -p...p:
///
///     out[y][x] = img[y + sy][x' + sx]   where x' = flip ? cols - 1 - x : x,
///                 or the zero pixel when that position lies outside the image.
///
/// Randomness comes only from the `SplitMix64` passed in, consumed in a fixed order (per image,
/// in batch order: dy, dx when padding > 0, then the flip bit when flip is on), so a seed
/// reproduces a batch exactly. Bounded draws use the multiply-high method (Lemire): for n values
/// `(next() * n) >> 64`, bias below n / 2^64, with no division.
public struct BatchMaker: Sendable {
    public let dataset: IDXDataset
    public let mean: Float
    public let std: Float
    /// `table[p] = (Float(p) / 255 - mean) / std` for p in 0...255.
    public let table: [Float]

    /// `mean` and `std` are in [0, 1] pixel units, as `fashionMNISTStats` returns them.
    public init(dataset: IDXDataset, mean: Float, std: Float) {
        precondition(std > 0 && std.isFinite && mean.isFinite, "BatchMaker: std must be positive and finite, mean finite")
        self.dataset = dataset
        self.mean = mean
        self.std = std
        table = (0..<256).map { (Float($0) / 255 - mean) / std }
    }

    /// Pixels per image: rows * cols (one channel).
    public var imageSize: Int { dataset.rows * dataset.cols }

    /// Writes `indices.count` images (`[B, 1, rows, cols]` floats) and labels.
    /// Indices must lie in `0..<dataset.count` (a programming error otherwise, which traps).
    public func fill(indices: ArraySlice<Int>, into images: UnsafeMutablePointer<Float>,
                     labels: UnsafeMutablePointer<Int32>, augment: Augment?, rng: inout SplitMix64) {
        let rows = dataset.rows, cols = dataset.cols, size = rows * cols, n = dataset.count
        dataset.images.withUnsafeBufferPointer { pix in
            table.withUnsafeBufferPointer { tab in
                dataset.labels.withUnsafeBufferPointer { lab in
                    guard let src = pix.baseAddress, let t = tab.baseAddress, let l = lab.baseAddress else { return }
                    for (b, i) in indices.enumerated() {
                        precondition(i >= 0 && i < n, "BatchMaker.fill: index \(i) outside 0..<\(n)")
                        var sy = 0, sx = 0, flip = false
                        if let a = augment {
                            if a.padding > 0 {
                                sy = Self.bounded(2 * a.padding + 1, &rng) - a.padding
                                sx = Self.bounded(2 * a.padding + 1, &rng) - a.padding
                            }
                            if a.flip { flip = rng.next() >> 63 == 1 }
                        }
                        Self.write(src: src + i * size, rows: rows, cols: cols, shiftY: sy, shiftX: sx,
                                   flip: flip, table: t, out: images + b * size)
                        labels[b] = Int32(l[i])
                    }
                }
            }
        }
    }

    public func fill(indices: [Int], into images: UnsafeMutablePointer<Float>,
                     labels: UnsafeMutablePointer<Int32>, augment: Augment?, rng: inout SplitMix64) {
        fill(indices: indices[...], into: images, labels: labels, augment: augment, rng: &rng)
    }

    /// One image with a chosen shift (sy, sx in -padding...padding, see the formula at the top)
    /// and flip: the deterministic core of the augmentation, public so tests can force offsets.
    public func writeImage(_ index: Int, shiftY: Int, shiftX: Int, flip: Bool, into out: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < dataset.count, "BatchMaker.writeImage: index \(index) outside 0..<\(dataset.count)")
        let size = imageSize
        dataset.images.withUnsafeBufferPointer { pix in
            table.withUnsafeBufferPointer { tab in
                guard let src = pix.baseAddress, let t = tab.baseAddress else { return }
                Self.write(src: src + index * size, rows: dataset.rows, cols: dataset.cols,
                           shiftY: shiftY, shiftX: shiftX, flip: flip, table: t, out: out)
            }
        }
    }

    private static func write(src: UnsafePointer<UInt8>, rows: Int, cols: Int, shiftY: Int, shiftX: Int,
                              flip: Bool, table: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let zero = table[0]
        for y in 0..<rows {
            let o = out + y * cols
            let r = y + shiftY
            guard r >= 0 && r < rows else { o.update(repeating: zero, count: cols); continue }
            let s = src + r * cols
            for x in 0..<cols {
                let c = (flip ? cols - 1 - x : x) + shiftX
                o[x] = c >= 0 && c < cols ? table[Int(s[c])] : zero
            }
        }
    }

    /// Uniform in 0..<n (n > 0) by multiply-high.
    @inline(__always)
    static func bounded(_ n: Int, _ rng: inout SplitMix64) -> Int {
        Int(truncatingIfNeeded: rng.next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// Mean and standard deviation of all pixels of `d` in [0, 1] units (divide by 255), for
    /// `Normalize`. Exact via a 256-bin histogram summed in Double; the standard deviation is the
    /// unbiased one (divide by N - 1) that `tensor.std()` gives, which at Fashion-MNIST's 47 M
    /// pixels equals the population value to 8 digits (training split: about 0.2860, 0.3530).
    /// A constant dataset gives std 1 so that normalising it stays finite.
    public static func fashionMNISTStats(_ d: IDXDataset) -> (mean: Float, std: Float) {
        let hist = UnsafeMutablePointer<Int>.allocate(capacity: 256)
        defer { hist.deallocate() }
        hist.initialize(repeating: 0, count: 256)
        d.images.withUnsafeBufferPointer { pix in
            guard let p = pix.baseAddress else { return }
            for i in 0..<pix.count { hist[Int(p[i])] += 1 }
        }
        let n = Double(d.images.count)
        guard n > 0 else { return (0, 1) }
        var sum = 0.0
        for v in 0..<256 { sum += Double(hist[v]) * Double(v) / 255 }
        let mean = sum / n
        var sq = 0.0
        for v in 0..<256 { let e = Double(v) / 255 - mean; sq += Double(hist[v]) * e * e }
        let std = n > 1 ? (sq / (n - 1)).squareRoot() : 0
        return (Float(mean), std > 0 ? Float(std) : 1)
    }

    /// A uniformly random order of `0..<count` (Fisher-Yates, from the last position down, each
    /// swap partner drawn with `bounded`), for the epoch shuffle.
    public static func permutation(count: Int, rng: inout SplitMix64) -> [Int] {
        var p = Array(0..<max(count, 0))
        p.withUnsafeMutableBufferPointer { buf in
            guard let a = buf.baseAddress, buf.count > 1 else { return }
            for i in stride(from: buf.count - 1, to: 0, by: -1) {
                let j = bounded(i + 1, &rng)
                let t = a[i]; a[i] = a[j]; a[j] = t
            }
        }
        return p
    }
}

/// The training augmentation of `BatchMaker.fill` (formula at the top of this file); `nil` there
/// means none (evaluation).
public struct Augment: Sendable, Equatable {
    /// Zero pixels added on each side before the random crop (0 = no crop).
    public var padding: Int
    /// Mirror left-right with probability 1/2.
    public var flip: Bool
    public init(padding: Int = 2, flip: Bool = true) {
        precondition(padding >= 0, "Augment: padding must be >= 0")
        self.padding = padding
        self.flip = flip
    }
}
