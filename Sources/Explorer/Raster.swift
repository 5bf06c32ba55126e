import Foundation

/// The image resampled to a map's pixel raster by area averaging in linear light (averaging sRGB
/// values directly darkens edges and fine stripes).
struct Raster: Sendable {
    let width: Int, height: Int
    let data: [RGB]

    /// sRGB byte -> linear light.
    static let toLinear: [Double] = (0..<256).map { SRGB.linear(Double($0) / 255) }

    init(pixels: [UInt8], size s: Int, width w: Int, height h: Int) {
        width = w; height = h
        var out = [RGB](repeating: RGB(0, 0, 0), count: w * h)
        guard s > 0, pixels.count >= s * s * 3 else { data = out; return }
        let lin = Self.toLinear
        pixels.withUnsafeBufferPointer { px in
            for y in 0..<h {
                let sy0 = y * s / h, sy1 = min(s, max(sy0 + 1, (y + 1) * s / h))
                for x in 0..<w {
                    let sx0 = x * s / w, sx1 = min(s, max(sx0 + 1, (x + 1) * s / w))
                    var r = 0.0, g = 0.0, b = 0.0
                    for yy in sy0..<sy1 {
                        var i = (yy * s + sx0) * 3
                        for _ in sx0..<sx1 {
                            r += lin[Int(px[i])]; g += lin[Int(px[i + 1])]; b += lin[Int(px[i + 2])]
                            i += 3
                        }
                    }
                    let n = Double((sy1 - sy0) * (sx1 - sx0))
                    out[y * w + x] = RGB(SRGB.encoded(r / n) * 255, SRGB.encoded(g / n) * 255, SRGB.encoded(b / n) * 255)
                }
            }
        }
        data = out
    }

    func pixel(_ x: Int, _ y: Int) -> RGB { data[max(0, min(height - 1, y)) * width + max(0, min(width - 1, x))] }
}

/// Rasters already made, so a redraw (a layer or view key) does not resample the image again.
/// Keyed by the pixel array (compared by identity first, so a hit is cheap) and the raster size.
final class RasterCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(pixels: [UInt8], size: Int, width: Int, height: Int, raster: Raster)] = []
    static let capacity = 16

    func raster(pixels: [UInt8], size: Int, width: Int, height: Int) -> Raster {
        lock.lock()
        if let i = entries.firstIndex(where: { $0.width == width && $0.height == height && $0.size == size && $0.pixels == pixels }) {
            let hit = entries.remove(at: i)
            entries.append(hit)
            lock.unlock()
            return hit.raster
        }
        lock.unlock()
        let r = Raster(pixels: pixels, size: size, width: width, height: height)
        lock.lock()
        entries.append((pixels, size, width, height, r))
        if entries.count > Self.capacity { entries.removeFirst() }
        lock.unlock()
        return r
    }
}
