/// One contiguous, 64-byte aligned block of `Float`s that owns its memory, as llm.c allocates its
/// parameters, gradients and activations: every named tensor is a view (`base + offset`) into it.
///
/// Why a class holding a raw pointer rather than `[Float]`: hot loops take the pointer once and run
/// at C speed; an array stored in a class and indexed in a loop pays exclusivity and uniqueness
/// checks on every access (about 100x slower, measured in ../shared/notes/engine.md section 5).
public final class Arena: @unchecked Sendable {
    public let count: Int
    public let base: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { base.update(repeating: 0, count: count) }
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    public func zero() { base.update(repeating: 0, count: count) }

    /// A copy of `count` floats starting at `offset`, for results that leave the engine.
    public func array(offset: Int = 0, count n: Int? = nil) -> [Float] {
        let n = n ?? (count - offset)
        return Array(UnsafeBufferPointer(start: base + offset, count: n))
    }
}

/// A raw pointer that may cross into `DispatchQueue.concurrentPerform` workers. Each worker
/// writes a disjoint range, which is what makes the `@unchecked` claim true.
public struct SendablePointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
