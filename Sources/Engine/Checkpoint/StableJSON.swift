import Foundation

/// JSON for file metadata with its keys sorted: `JSONEncoder`'s default order follows Swift's
/// per-process hash seed, so the same model written twice gave different bytes.
public func stableJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
