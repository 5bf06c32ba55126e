/// The one error type the engine throws for bad input: a single line that says what is wrong
/// and, where it can, what to do about it. The CLI prints `description` on stderr and exits non-zero.
public struct EngineError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
