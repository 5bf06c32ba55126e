// The one error type of image reading, writing and preprocessing, whatever the format.

/// Why an image could not be read, written or preprocessed. `description` is one line:
/// "cannot read photo.png: not a PNG file (libpng: Not a PNG file); give a PNG image".
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `notImage`: neither PNG nor JPEG by its first bytes; `notPNG`: handed to the PNG decoder
        /// but not a PNG; `unsupported`: a real JPEG of a kind not decoded (e.g. two components).
        case fileNotFound, notImage, notPNG, corrupt, tooLarge, unsupported, ioError, invalidArgument
    }
    public let kind: Kind
    /// The file concerned, or a short label such as "in-memory PNG".
    public let path: String
    public let description: String

    init(_ kind: Kind, _ path: String, verb: String = "read", what: String, fix: String) {
        self.kind = kind
        self.path = path
        self.description = "cannot \(verb) \(path): \(what); \(fix)"
    }
}
