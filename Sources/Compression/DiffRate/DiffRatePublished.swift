/// The per-block token counts DiffRate published for DeiT-S and DeiT-T at 224 px (197 tokens, 12
/// blocks), from its searched `compression_rate.json` (Chen et al., "DiffRate: Differentiable
/// Compression Rate for Efficient Vision Transformers", ICCV 2023, arXiv 2305.17997;
/// OpenGVLab/DiffRate at commit 91ae3e3, entries "ViT-S-DeiT" and "ViT-T-DeiT"). The search that
/// found them needs training and is not part of this tool. `assets/schedules/diffrate-deit.json`
/// holds the same numbers in DiffRate's file format (a test checks that they agree).
public enum DiffRatePublished {
    /// What the numbers were searched for: 197 tokens (196 patches and CLS), 12 blocks.
    public static let patches = 196

    /// (model, target GFLOPs, prune_kept_num, merge_kept_num), in the file's order.
    public static let entries: [(model: String, gflops: String, prune: [Int], merge: [Int])] = [
        ("ViT-S-DeiT", "2.3", [197, 192, 168, 143, 121, 105, 92, 74, 62, 45, 33, 3], [197, 180, 156, 127, 109, 98, 80, 66, 52, 37, 31, 3]),
        ("ViT-S-DeiT", "2.5", [197, 192, 174, 156, 131, 115, 111, 99, 76, 50, 39, 3], [197, 186, 160, 133, 119, 107, 96, 82, 66, 43, 37, 3]),
        ("ViT-S-DeiT", "2.7", [197, 196, 182, 160, 141, 127, 115, 105, 88, 66, 49, 3], [197, 188, 170, 147, 131, 119, 109, 96, 76, 54, 45, 3]),
        ("ViT-S-DeiT", "2.9", [197, 196, 190, 168, 150, 139, 129, 117, 99, 78, 58, 3], [197, 194, 176, 156, 141, 133, 121, 107, 88, 64, 56, 3]),
        ("ViT-S-DeiT", "3.1", [197, 197, 194, 180, 160, 147, 137, 129, 115, 92, 76, 3], [197, 196, 186, 164, 150, 141, 133, 121, 103, 78, 68, 3]),
        ("ViT-T-DeiT", "0.6", [197, 196, 180, 157, 130, 107, 86, 73, 63, 51, 40, 3], [197, 187, 167, 139, 114, 90, 76, 66, 57, 45, 37, 3]),
        ("ViT-T-DeiT", "0.7", [197, 196, 194, 180, 150, 123, 98, 82, 68, 60, 52, 3], [197, 196, 192, 158, 133, 103, 88, 72, 64, 58, 49, 3]),
        ("ViT-T-DeiT", "0.8", [197, 197, 196, 186, 166, 147, 117, 103, 92, 80, 74, 3], [197, 196, 190, 172, 154, 125, 107, 96, 84, 78, 70, 3]),
        ("ViT-T-DeiT", "0.9", [197, 197, 196, 190, 182, 166, 141, 125, 113, 105, 99, 3], [197, 196, 194, 188, 172, 147, 129, 115, 107, 103, 96, 3]),
        ("ViT-T-DeiT", "1.0", [197, 197, 196, 194, 188, 184, 178, 164, 156, 137, 129, 21], [197, 197, 196, 190, 186, 154, 148, 156, 145, 135, 125, 21]),
    ]

    /// Every published schedule, labelled `s2.9` (DeiT-S, 2.9 GFLOPs) or `t0.7` (DeiT-T).
    public static var schedules: [TokenSchedule] {
        entries.map { e in
            TokenSchedule(pruneKept: e.prune, mergeKept: e.merge, label: (e.model.contains("-S-") ? "s" : "t") + e.gflops)
        }
    }

    /// DeiT-S at 2.9 GFLOPs, the setting DiffRate's README reports first for DeiT-S (79.8 % top-1
    /// off the shelf on ImageNet): what `--method diffrate` runs without `--schedule`.
    public static var standard: TokenSchedule { schedules[3] }
}
