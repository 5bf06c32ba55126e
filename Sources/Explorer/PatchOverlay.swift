import Compression

/// How one layer's patch states show over the picture: the single definition both the explorer's
/// maps and the PNG figure draw, pixel by pixel.
///
/// Colour carries the states and only the states:
/// - a patch that runs as its own token (a dense block, a group of one, a ToMe token holding one
///   patch, a token EViT keeps) is the image alone, untouched;
/// - a merged group of two or more patches shares one hue, blended so the picture shows through,
///   stronger on its center; neighbouring groups (8-neighbourhood) never share a hue;
/// - patches that skip the block (pruned, or kept with no center in reach) are darkened and
///   desaturated, EViT's dropped patches darker still.
/// With `details` (the PNG figure, where a patch is drawn at least `detailSide` pixels wide) the
/// center also gets a light outline and a dark line separates neighbouring groups; without (the
/// terminal, where a pixel is half a cell and a line would cover an eighth of the patch) the
/// stronger blend alone marks the center.
public struct PatchOverlay: Sendable {
    public enum Role: Equatable, Sendable {
        case own
        case member(hue: Int)
        case center(hue: Int)
        /// Pruned: skips the block through the shortcut and comes back unchanged.
        case pruned
        /// Kept by the thresholds but with no center in reach: also skips the block.
        case passed
        /// EViT: fused into one token and gone from here on.
        case dropped
        /// DiffRate: pruned and gone from here on, held by no token.
        case discarded

        public var hue: Int? {
            switch self {
            case .member(let h), .center(let h): return h
            default: return nil
            }
        }
    }

    /// Group hues, bright and far apart, so a tint reads on dark and light pictures alike.
    public static let hues: [RGB] = [
        RGB(255, 80, 80), RGB(70, 160, 255), RGB(255, 215, 40), RGB(60, 220, 100), RGB(205, 100, 255), RGB(255, 145, 30),
        RGB(40, 225, 225), RGB(255, 110, 200), RGB(170, 235, 50), RGB(150, 150, 255),
    ]

    /// Blend of a group's hue over the picture: members, centers (states view; the group view
    /// uses `strong`).
    public struct Strength: Sendable {
        public var member: Double, center: Double
        public static let picture = Strength(member: 0.32, center: 0.55)
        public static let strong = Strength(member: 0.85, center: 1)
    }

    public static let detailSide = 8

    public let grid: Int
    public let roles: [Role]
    /// Per patch, the id of its drawn group (-1: none): groups of one are not drawn as groups.
    let drawnGroup: [Int]
    let strength: Strength

    /// `states` nil: the block runs densely, every patch its own token.
    public init(states: [PatchState]?, grid: Int, strength: Strength = .picture) {
        self.grid = grid
        self.strength = strength
        let n = grid * grid
        let st = states ?? [PatchState](repeating: .kept, count: n)
        var size: [Int: Int] = [:]
        for s in st { if let g = s.group { size[g, default: 0] += 1 } }
        let drawn = st.map { s -> Int in s.group.map { (size[$0] ?? 0) > 1 ? $0 : -1 } ?? -1 }
        drawnGroup = drawn
        let hueOf = Self.colourGroups(drawn, grid: grid)
        roles = st.enumerated().map { j, s in
            switch s {
            case .kept: return .own
            case .center(let g): return drawn[j] >= 0 ? .center(hue: hueOf[g] ?? 0) : .own
            case .merged(let g, _): return drawn[j] >= 0 ? .member(hue: hueOf[g] ?? 0) : .own
            case .pruned: return .pruned
            case .unassigned: return .passed
            case .dropped: return .dropped
            case .discarded: return .discarded
            }
        }
    }

    /// A hue per drawn group such that groups touching in the 8-neighbourhood differ: greedy
    /// colouring, most-connected groups first (Welsh-Powell). With more touching groups than hues
    /// (not seen on grid-row plans) the least-used hue among the neighbours is taken.
    static func colourGroups(_ group: [Int], grid g: Int) -> [Int: Int] {
        var neighbours: [Int: Set<Int>] = [:]
        for j in group.indices where group[j] >= 0 {
            neighbours[group[j], default: []].formUnion([])
            let r = j / g, c = j % g
            for dr in -1...1 { for dc in -1...1 where dr != 0 || dc != 0 {
                let rr = r + dr, cc = c + dc
                guard rr >= 0, rr < g, cc >= 0, cc < g else { continue }
                let o = group[rr * g + cc]
                if o >= 0 && o != group[j] { neighbours[group[j], default: []].insert(o) }
            } }
        }
        let order = neighbours.keys.sorted { (neighbours[$0]?.count ?? 0, $1) > (neighbours[$1]?.count ?? 0, $0) }
        var hue: [Int: Int] = [:]
        for grp in order {
            var used = [Int](repeating: 0, count: hues.count)
            for o in neighbours[grp] ?? [] { if let h = hue[o] { used[h] += 1 } }
            hue[grp] = used.firstIndex(of: 0) ?? used.indices.min { used[$0] < used[$1] } ?? 0
        }
        return hue
    }

    /// The colour of picture pixel `c` at (u, v) inside patch `j`, drawn `side` pixels wide.
    public func shade(_ c: RGB, patch j: Int, u: Int, v: Int, side: Int, details: Bool = false) -> RGB {
        guard j >= 0, j < roles.count else { return c }
        if details, side >= Self.detailSide, let line = detail(patch: j, u: u, v: v, side: side) { return line }
        switch roles[j] {
        case .own: return c
        case .member(let h): return c.mixed(with: Self.hues[h], strength.member)
        case .center(let h): return c.mixed(with: Self.hues[h], strength.center)
        case .pruned: return Self.darkened(c, keep: 0.42)
        case .passed: return Self.darkened(c, keep: 0.55)
        case .dropped: return Self.darkened(c, keep: 0.2)
        case .discarded: return Self.darkened(c, keep: 0.08)
        }
    }

    /// Desaturated (70 % toward grey) and scaled toward black.
    static func darkened(_ c: RGB, keep: Double) -> RGB {
        let y = c.luma
        return c.mixed(with: RGB(y, y, y), 0.7).scaled(keep)
    }

    /// Outline of a center and lines between groups, for patches drawn large enough.
    func detail(patch j: Int, u: Int, v: Int, side: Int) -> RGB? {
        if case .center = roles[j], u == 0 || v == 0 || u == side - 1 || v == side - 1 { return RGB(250, 250, 250) }
        let r = j / grid, c = j % grid
        func differs(_ o: Int) -> Bool { drawnGroup[o] != drawnGroup[j] && (drawnGroup[o] >= 0 || drawnGroup[j] >= 0) }
        if u == side - 1, c + 1 < grid, differs(j + 1) { return RGB(30, 30, 30) }
        if v == side - 1, r + 1 < grid, differs(j + grid) { return RGB(30, 30, 30) }
        return nil
    }

    /// Whether the patch is drawn as the plain picture.
    public func isPlain(_ j: Int) -> Bool { j < roles.count && roles[j] == .own }
}
