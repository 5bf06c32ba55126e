import Compression
import Engine

/// What every export format holds, built once from an analysis: a header (tool, model, image,
/// method and its settings) and, per layer, the state, group, center, merge weight, live score and
/// restore error of every patch. Text, JSON, CSV and the PNG figure are views of this one document,
/// so they cannot disagree.
///
/// Conventions: layers are numbered from 1 (block index + 1, as the explorer shows them); patches
/// are 0-based, row-major over the grid, CLS (and DIST) excluded; groups are 0-based per layer in
/// raster order of their center; -1 means "none".
public struct PatchMap: Sendable {
    public struct Header: Sendable {
        public var version: String
        public var model: String
        public var image: String
        public var imageSize: Int
        public var patchSize: Int
        public var grid: Int
        public var method: String
        /// Settings of the method, in the order the text header shows them (e.g. keep, prune,
        /// grouping, scores for Prune and Merge).
        public var settings: [(key: String, value: String)]
        public var gflopsDense: Double
        public var gflopsCompressed: Double
    }

    public struct Layer: Sendable {
        /// 1-based.
        public var index: Int
        public var tokensIn: Int, tokensRun: Int, tokensOut: Int
        public var gflops: Double
        /// Whether the block runs densely (every patch its own token, nothing planned).
        public var dense: Bool
        public var states: [PatchState]
        /// Group of each patch (-1: none).
        public var groups: [Int]
        /// Center patch of each patch's group (-1: none).
        public var centers: [Int]
        /// Merge weight of each patch into its group's token (center 1; 0 when not merged).
        public var weights: [Float]
        /// Live gradient-weighted score of each patch on this image.
        public var scores: [Float]
        /// || x_method - x_dense || / || x_dense || of each patch after the block (full grid restored).
        public var restoreError: [Float]
        public var groupCount: Int
    }

    public var header: Header
    public var layers: [Layer]

    /// Builds the document for the explorer's current settings and one analysis of them.
    /// `layers` selects 0-based blocks (default: all).
    public init(version: String, modelName: String, image: ExplorerImage, state s: ExplorerState, analysis a: Analysis,
                config c: ViTConfig, layers selected: [Int]? = nil) {
        // The analysis names its method's settings; an analysis made by hand (tests) has none, and
        // then what the state's knobs give its method stands in.
        let fallback = s.method.method.knobSettings(s.knobs, config: c)
        let settings = a.settings.isEmpty ? fallback : a.settings
        header = Header(version: version, model: modelName, image: image.name, imageSize: c.imageSize, patchSize: c.patchSize,
                        grid: c.grid, method: s.method.rawValue, settings: settings,
                        gflopsDense: a.gflopsDense, gflopsCompressed: a.gflopsCompressed)
        let np = c.numPatches
        layers = (selected ?? Array(a.layers.indices)).filter { a.layers.indices.contains($0) }.map { l in
            let L = a.layers[l]
            let states = L.states ?? [PatchState](repeating: .kept, count: np)
            var centerOf: [Int: Int] = [:]
            for (j, st) in states.enumerated() { if case .center(let g) = st { centerOf[g] = j } }
            let groups = states.map { $0.group ?? -1 }
            let weights: [Float] = states.map {
                switch $0 {
                case .center: return 1
                case .merged(_, let w): return w
                default: return 0
                }
            }
            return Layer(index: l + 1, tokensIn: L.tokensIn, tokensRun: L.tokensRun, tokensOut: L.tokensOut, gflops: L.gflops,
                         dense: L.states == nil && L.tokensRun == L.tokensIn && L.tokensOut == L.tokensIn, states: states, groups: groups, centers: groups.map { centerOf[$0] ?? -1 },
                         weights: weights, scores: L.liveScores, restoreError: L.restoreError, groupCount: centerOf.count)
        }
    }

    /// Fixed-point text, locale-independent (see `FixedText`).
    static func fixed(_ v: Double, _ digits: Int) -> String { FixedText.format(v, digits: digits) }

    /// Glyph of a patch state (the text map's alphabet; the explorer draws the same ones).
    /// Group letters: upper case for the center, lower case for members. Past 26 groups the alphabet
    /// repeats: group g and g + 26 share a letter. Groups are numbered in raster order of their
    /// centers, so groups sharing a letter are 26 groups apart, never neighbours; JSON and CSV carry
    /// the exact group ids.
    public static func glyph(_ st: PatchState) -> Character {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        switch st {
        case .kept: return "#"
        case .dropped: return "-"
        case .discarded: return "x"
        case .pruned: return "."
        case .unassigned: return ":"
        case .center(let g): return Character(letters[g % 26].uppercased())
        case .merged(let g, _): return letters[g % 26]
        }
    }

    /// Restore-error digit: floor(10 x relative error), 9 for 0.9 and above.
    public static func errorDigit(_ e: Float) -> Character {
        let v = e.isFinite ? max(0, min(9, Int(e * 10))) : 9
        return Character(String(v))
    }

    public static let legend = "A-Z group center, a-z member of that group (letters repeat past 26 groups), . pruned (skips the block), : kept but no center (skips the block), # runs as its own token, - dropped (gone for good)"
}
