import Engine

/// The primitive bounds a long explorer session runs with, so its resident size levels off (why:
/// `PackedWeight.limitPrimitives`). `bench --explorer` sets the same, so it times what a session runs.
enum SessionMemory {
    static let primitivesPerThread = 64
    static let sharedPrimitives = 64

    static func configure() {
        PackedWeight.limitPrimitives(perThread: primitivesPerThread, shared: sharedPrimitives)
    }
}
