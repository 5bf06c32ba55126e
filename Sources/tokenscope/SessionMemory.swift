import Engine

/// What the explorer sets up so a session that runs for hours keeps a steady resident size: a small
/// bound on the matmul primitives kept (`PackedWeight.limitPrimitives`; the explorer meets a new token
/// count per block at nearly every setting, and with the library's bounds the soak's resident size
/// kept growing for minutes: docs/reliability.md). `bench --explorer` sets the same, so it times what
/// a session runs.
enum SessionMemory {
    static let primitivesPerThread = 64
    static let sharedPrimitives = 64

    static func configure() {
        PackedWeight.limitPrimitives(perThread: primitivesPerThread, shared: sharedPrimitives)
    }
}
