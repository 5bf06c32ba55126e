/// What the command line said about a method's settings, parsed and typed, before a method reads
/// it: `tokenscope`'s option group fills it, each method's `settings(from:)` turns the part it
/// declares in `arguments` into its `Settings`, and an option no chosen method declares is an
/// error naming the methods that take it. The options are one list here because the argument
/// parser declares flags statically; which method takes which lives with the method.
public struct MethodArguments: Sendable, Equatable, Codable {
    /// One option, by its flag.
    public enum Key: String, CaseIterable, Sendable {
        case r = "--r"
        case inflect = "--inflect"
        case noPropAttn = "--no-prop-attn"
        case keepRate = "--keep-rate"
        case blocks = "--blocks"
        case schedule = "--schedule"
        case ratio = "--ratio"
        case margin = "--margin"
    }

    /// Tokens merged per block: one value for every block, or one per block.
    public var r: [Int]?
    public var inflect: Double?
    public var noPropAttn = false
    public var keepRate: Double?
    /// Blocks, 0-based.
    public var blocks: [Int]?
    public var schedule: TokenSchedule?
    public var ratio: Double?
    public var margin: Double?

    public init(r: [Int]? = nil, inflect: Double? = nil, noPropAttn: Bool = false, keepRate: Double? = nil, blocks: [Int]? = nil,
                schedule: TokenSchedule? = nil, ratio: Double? = nil, margin: Double? = nil) {
        self.r = r; self.inflect = inflect; self.noPropAttn = noPropAttn; self.keepRate = keepRate; self.blocks = blocks
        self.schedule = schedule; self.ratio = ratio; self.margin = margin
    }

    /// Without the options that set a budget (tokens per block: `--r`, `--inflect`, `--keep-rate`,
    /// `--schedule`, `--ratio`): what is left when the explorer's keep keys take over.
    public var budgetCleared: MethodArguments {
        MethodArguments(noPropAttn: noPropAttn, blocks: blocks, margin: margin)
    }

    /// The options that were given.
    public var given: [Key] {
        Key.allCases.filter { k in
            switch k {
            case .r: return r != nil
            case .inflect: return inflect != nil
            case .noPropAttn: return noPropAttn
            case .keepRate: return keepRate != nil
            case .blocks: return blocks != nil
            case .schedule: return schedule != nil
            case .ratio: return ratio != nil
            case .margin: return margin != nil
            }
        }
    }

    /// The methods that take option `k`, by id.
    public static func takers(of k: Key) -> [String] {
        var ids: [String] = []
        for m in MethodRegistry.all where m.arguments.contains(k) { ids.append(m.id) }
        return ids
    }

    /// Throws when an option was given that `method` does not take.
    public func check(for method: any CompressionMethod.Type) throws {
        let stray = given.filter { !method.arguments.contains($0) }
        guard let first = stray.first else { return }
        let names = stray.map { $0.rawValue }.joined(separator: ", ")
        let takers = Self.takers(of: first)
        let hint = takers.isEmpty ? "" : ": add --method \(takers.joined(separator: " or --method "))"
        throw MethodArgumentError("\(names) \(stray.count == 1 ? "is not a setting" : "are not settings") of --method \(method.id)\(hint)")
    }
}

/// A method's options did not make sense (the command line reports it as a usage error).
public struct MethodArgumentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
