import Engine

/// Bookkeeping of a per-image token reduction pass: for every image, which current token holds
/// each original patch (ToMe's `source` matrix, stored as one index per patch), how many patches
/// each token holds, its anchor patch, and whether it descends from an EViT fused token.
///
///     holder [B, P]     current token index of patch p, -1 once it is discarded (DiffRate's pruning)
///     count  [B, T]     patches held by token t (0 for CLS/DIST)
///     anchor [B, T]     representative patch of token t, -1 for none
///     fused  [B, T]     1 when token t descends from a fused token
///
/// Every image's rows are disjoint, so images can be remapped in parallel. Costs O(P + T) per
/// image and reduction, nothing next to a block, so the passes always track.
public final class TokenTracker: @unchecked Sendable {
    public let batch: Int
    public let patches: Int
    public let prefix: Int
    public let maxTokens: Int
    private let storage: UnsafeMutablePointer<Int32>
    private let perImage: Int

    public init(config c: ViTConfig, batch: Int) {
        self.batch = batch
        patches = c.numPatches
        prefix = c.prefixTokens
        maxTokens = c.tokens
        perImage = patches + 6 * maxTokens
        storage = .allocate(capacity: max(1, batch * perImage))
    }

    deinit { storage.deallocate() }

    private func holder(_ i: Int) -> UnsafeMutablePointer<Int32> { storage + i * perImage }
    private func count(_ i: Int) -> UnsafeMutablePointer<Int32> { storage + i * perImage + patches }
    private func anchor(_ i: Int) -> UnsafeMutablePointer<Int32> { count(i) + maxTokens }
    private func fused(_ i: Int) -> UnsafeMutablePointer<Int32> { count(i) + 2 * maxTokens }
    /// Scratch for the new count, anchor and fused rows during a remap.
    private func scratch(_ i: Int) -> UnsafeMutablePointer<Int32> { count(i) + 3 * maxTokens }

    /// The dense start for images 0..<b: token prefix + p holds patch p alone and is its anchor.
    public func reset(batch b: Int) {
        precondition(b <= batch, "TokenTracker: batch \(b) > \(batch)")
        for i in 0..<b {
            let h = holder(i), n = count(i), a = anchor(i), f = fused(i)
            for p in 0..<patches { h[p] = Int32(prefix + p) }
            for t in 0..<maxTokens {
                let isPatch = t >= prefix
                n[t] = isPatch ? 1 : 0
                a[t] = isPatch ? Int32(t - prefix) : -1
                f[t] = 0
            }
        }
    }

    /// One reduction of image i from `oldTokens` to `newTokens` tokens.
    /// - newOf [oldTokens]: the new token each old token goes into (several may share one), or -1
    ///   for a token discarded with the patches it holds (DiffRate prunes).
    /// - carry [newTokens]: the old token whose anchor and fused flag the new token keeps (ToMe: the
    ///   destination, EViT: the kept token), or -1 for a token made fresh by fusion (EViT).
    public func remap(image i: Int, newOf: [Int32], carry: [Int32]) {
        let oldTokens = newOf.count, newTokens = carry.count
        precondition(oldTokens <= maxTokens && newTokens <= oldTokens, "TokenTracker: remap \(oldTokens) -> \(newTokens) tokens")
        let h = holder(i), n = count(i), a = anchor(i), f = fused(i)
        let s = scratch(i), newCount = s, newAnchor = s + maxTokens, newFused = s + 2 * maxTokens
        for p in 0..<patches where h[p] >= 0 { h[p] = newOf[Int(h[p])] }
        for t in 0..<newTokens { newCount[t] = 0 }
        for t in 0..<oldTokens where newOf[t] >= 0 { newCount[Int(newOf[t])] += n[t] }
        for t in 0..<newTokens {
            let o = Int(carry[t])
            newAnchor[t] = o >= 0 ? a[o] : -1
            newFused[t] = o >= 0 ? f[o] : 1
        }
        n.update(from: newCount, count: newTokens)
        a.update(from: newAnchor, count: newTokens)
        f.update(from: newFused, count: newTokens)
    }

    /// The token holding patch p of image i, -1 once it is discarded.
    public func holderOf(image i: Int, patch p: Int) -> Int { Int(holder(i)[p]) }

    /// Image i's layout now (`tokens` = its current token count).
    public func layout(image i: Int, tokensIn: Int, tokens: Int) -> TokenLayout {
        let h = holder(i), n = count(i), a = anchor(i), f = fused(i)
        return TokenLayout(tokensIn: tokensIn, tokensOut: tokens, holder: (0..<patches).map { Int(h[$0]) },
                           patchCount: (0..<tokens).map { Int(n[$0]) }, anchor: (0..<tokens).map { Int(a[$0]) },
                           fused: (0..<tokens).map { f[$0] != 0 })
    }

    /// "Unmerge to the grid" for image i: out [N, D] gets the prefix rows, then for each patch the
    /// row of the token holding it (ToMe: the merged token's value; EViT: a dropped patch gets the
    /// fused token that holds it). A discarded patch's row is left as it is: the caller's grid keeps
    /// the value it had when its token was discarded.
    ///
    ///     tokens [t, D] (image i's current tokens)  ->  out [prefix + P, D]
    public func unmerge(image i: Int, tokens x: UnsafePointer<Float>, dim d: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(from: x, count: prefix * d)
        let h = holder(i)
        for p in 0..<patches where h[p] >= 0 { (out + (prefix + p) * d).update(from: x + Int(h[p]) * d, count: d) }
    }
}
