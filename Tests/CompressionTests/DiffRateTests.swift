import Foundation
import XCTest
@testable import Compression
import Engine

/// DiffRate: one image's prune-then-merge worked by hand, the published schedules against the
/// shipped asset and against the GFLOPs DiffRate's own formula gives them, schedule files, and the
/// grid a pass restores.
final class DiffRateTests: XCTestCase {
    override class func setUp() { BLAS.configure() }

    /// CLS and five patch tokens, one head. CLS attends 0.1, 0.4, 0.05, 0.3, 0.15 to tokens 1-5:
    /// the order is 2, 4, 5, 1, 3. Prune to 5 drops token 3; merge to 3 keeps 2 and 4 as
    /// destinations, and 5 (close to 4) and 1 (close to 2) merge into them as plain means.
    func testPruneThenMergeWorkedByHand() {
        let t = 6, d = 2
        var att = [Float](repeating: 0, count: t * t)
        for (j, a) in [0.0, 0.1, 0.4, 0.05, 0.3, 0.15].enumerated() { att[j] = Float(a) }
        let x: [Float] = [9, 9,  1, 0.2,  1, 0,  5, 5,  0, 1,  0.1, 1]
        let p = att.withUnsafeBufferPointer { a in
            x.withUnsafeBufferPointer { PruneThenMerge.plan(att: a.baseAddress!, heads: 1, x: $0.baseAddress!, tokens: t, dim: d, prefix: 1, pruneKept: 5, mergeKept: 3) }
        }
        XCTAssertEqual(p.carry, [0, 2, 4])
        XCTAssertEqual(p.newOf, [0, 1, 1, -1, 2, 2])
        XCTAssertEqual(p.sources, [5, 1])
        let size: [Float] = [1, 1, 1, 1, 2, 3]
        var out = [Float](repeating: 0, count: 3 * d), newSize = [Float](repeating: 0, count: 3)
        PruneThenMerge.apply(p, x: x, size: size, dim: d, into: &out, newSize: &newSize)
        XCTAssertEqual(Array(out[0..<2]), [9, 9])
        XCTAssertEqual(out[2], 1, accuracy: 1e-6); XCTAssertEqual(out[3], 0.1, accuracy: 1e-6)    // (x2 + x1) / 2, sizes unused
        XCTAssertEqual(out[4], 0.05, accuracy: 1e-6); XCTAssertEqual(out[5], 1, accuracy: 1e-6)   // (x4 + x5) / 2
        func cos(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) / ((a.map { $0 * $0 }.reduce(0, +) * b.map { $0 * $0 }.reduce(0, +)).squareRoot()) }
        XCTAssertEqual(Double(newSize[1]), 1 + 1 * cos([1, 0.2], [1, 0]), accuracy: 1e-6)
        XCTAssertEqual(Double(newSize[2]), 2 + 3 * cos([0.1, 1], [0, 1]), accuracy: 1e-6)
        XCTAssertEqual(newSize[0], 1)
    }

    /// The numbers in the source and in `assets/schedules/diffrate-deit.json` are the same.
    func testThePublishedSchedulesAreTheShippedFile() throws {
        let path = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../assets/schedules/diffrate-deit.json").standardized.path
        for e in DiffRatePublished.entries {
            let s = try TokenSchedule.load(path + ":\(e.model)/\(e.gflops)")
            XCTAssertEqual(s.pruneKept, e.prune, "\(e.model) \(e.gflops)")
            XCTAssertEqual(s.mergeKept, e.merge, "\(e.model) \(e.gflops)")
        }
    }

    /// DiffRate's inference FLOPs (its `deit.py`: per block 4NC^2 + 2N^2C at the tokens entering,
    /// 8NC^2 at the tokens left, plus the patch embedding and head; MACs) at our token counts
    /// give the GFLOPs each schedule was published for: the counts run as DiffRate runs them.
    func testTokenCountsGiveThePublishedGFLOPs() throws {
        let want: [String: Double] = ["s2.3": 2.327, "s2.5": 2.505, "s2.7": 2.709, "s2.9": 2.905, "s3.1": 3.108,
                                      "t0.6": 0.655, "t0.7": 0.727, "t0.8": 0.809, "t0.9": 0.902, "t1.0": 1.004]
        for s in DiffRatePublished.schedules {
            let c: Double = s.label.hasPrefix("s") ? 384 : 192
            let counts = s.counts(tokens: 197)
            var macs = 197 * c * 16 * 16 * 3 + c * 1000
            for n in counts {
                let a = Double(n.attention), u = Double(n.mlp)
                macs += 4 * a * c * c + 2 * a * a * c + 8 * u * c * c
            }
            XCTAssertEqual(macs / 1e9, want[s.label] ?? 0, accuracy: 0.0015, s.label)
        }
        XCTAssertEqual(DiffRatePublished.standard.counts(tokens: 197).map(\.mlp), [197, 194, 176, 156, 141, 133, 121, 107, 88, 64, 56, 3])
    }

    func testScheduleFilesInEveryForm() throws {
        func parse(_ json: String, _ selector: String? = nil) throws -> TokenSchedule {
            try TokenSchedule.parse(Data(json.utf8), selector: selector, source: "f.json", label: "f")
        }
        XCTAssertEqual(try parse(#"{"prune_kept_num": [5, 4], "merge_kept_num": [5, 3]}"#).mergeKept, [5, 3])
        XCTAssertEqual(try parse(#"{"prune_kept_num": "[5,4]", "merge_kept_num": "[5,3]"}"#).pruneKept, [5, 4])
        XCTAssertEqual(try parse(#"{"tokens": [9, 7]}"#), TokenSchedule(tokens: [9, 7], label: "f"))
        XCTAssertEqual(try parse(#"{"prune_kept_num": "None", "merge_kept_num": [5, 3]}"#).counts(tokens: 6).map(\.mlp), [5, 3])
        XCTAssertEqual(try parse(#"{"M": {"1.0": {"tokens": [4]}, "2.0": {"tokens": [5]}}}"#, "M/2.0").mergeKept, [5])
        func fails(_ json: String, _ selector: String? = nil, _ words: String) {
            XCTAssertThrowsError(try parse(json, selector)) { XCTAssertTrue("\($0)".contains(words), "\($0)") }
        }
        fails("[1, 2]", nil, "not a JSON object")
        fails("{", nil, "not a JSON object")
        fails(#"{"M": {"1.0": {"tokens": [4]}}}"#, nil, "M/1.0")
        fails(#"{"M": {"1.0": {"tokens": [4]}}}"#, "M/3.0", "has no M/3.0")
        fails(#"{"prune_kept_num": [5], "merge_kept_num": [5, 3]}"#, nil, "must match")
        fails(#"{"merge_kept_num": [5, 2.5]}"#, nil, "not a whole token count")
        fails(#"{"merge_kept_num": "[5, x]"}"#, nil, "not a list")
        fails(#"{"merge_kept_num": []}"#, nil, "non-empty")
        XCTAssertThrowsError(try TokenSchedule.load("/no/such/file.json")) { XCTAssertTrue("\($0)".contains("cannot read")) }
        // Against a model: one entry per block, each leaving a patch token.
        let c = try tinyModel(seed: 1, depth: 2).config
        XCTAssertThrowsError(try TokenSchedule(tokens: [10], label: "f").check(for: c, method: "X")) { XCTAssertTrue("\($0)".contains("2 blocks")) }
        XCTAssertThrowsError(try TokenSchedule(tokens: [10, 1], label: "f").check(for: c, method: "X")) { XCTAssertTrue("\($0)".contains("at least 2")) }
    }

    /// ToMe and EViT given the tokens each block leaves reach them (ToMe within its cap of half the
    /// tokens); DiffRate runs both lists.
    func testASchedulePerBlockDrivesToMeEViTAndDiffRate() throws {
        let dense = try tinyModel(seed: 4, depth: 4)   // 17 tokens
        let s = TokenSchedule(pruneKept: [17, 14, 12, 12], mergeKept: [15, 13, 10, 8], label: "f")
        let want = [15, 13, 10, 8]
        XCTAssertEqual(try ToMe.model(dense: dense, settings: .init(schedule: .tokens(s))).tokenCounts.map(\.mlp), want)
        XCTAssertEqual(try EViT.model(dense: dense, settings: .init(schedule: s)).tokenCounts.map(\.mlp), want)
        let d = try DiffRateModel(dense: dense, schedule: s)
        XCTAssertEqual(d.tokenCounts.map(\.mlp), want)
        XCTAssertEqual((0..<4).map { d.split(layer: $0).pruned }, [0, 1, 1, 0])
        XCTAssertEqual((0..<4).map { d.split(layer: $0).merged }, [2, 1, 2, 2])
        // ToMe cannot merge more than half: 17 -> 3 is capped at 17 - 8 = 9.
        let steep = TokenSchedule(tokens: [3, 3, 3, 3], label: "steep")
        XCTAssertEqual(try ToMe.model(dense: dense, settings: .init(schedule: .tokens(steep))).tokenCounts.map(\.mlp), [9, 5, 3, 3])
    }

    /// Patches a block discards are gone from the tokens (no token holds them, the states say
    /// so), and the grid keeps the value each had when it entered that block.
    func testDiscardedPatchesKeepTheirValueOnTheGrid() throws {
        let dense = try tinyModel(seed: 6, depth: 3)
        let c = dense.config, n = c.tokens, dd = c.dim
        let m = try DiffRateModel(dense: dense, schedule: TokenSchedule(pruneKept: [17, 12, 9], mergeKept: [17, 10, 9], label: "f"))
        let images = randomImages(2, c, seed: 8)
        let pass = m.makePass(batch: 2, recordLayouts: true)
        var grids: [[Float]] = []
        images.withUnsafeBufferPointer { x in
            pass.forward(images: x.baseAddress!, batch: 2, workers: 1) { _, g in grids.append(Array(UnsafeBufferPointer(start: g, count: 2 * n * dd))) }
        }
        for i in 0..<2 {
            let s1 = try XCTUnwrap(pass.patchStates(layer: 1, image: i))
            XCTAssertEqual(s1.filter { $0 == .discarded }.count, 17 - 12)
            let s2 = try XCTUnwrap(pass.patchStates(layer: 2, image: i))
            XCTAssertEqual(s2.filter { $0 == .discarded }.count, 17 - 12 + 1, "block 2 prunes one more of its 10")
            for p in 0..<c.numPatches where s1[p] == .discarded {
                let row = (i * n + c.prefixTokens + p) * dd
                XCTAssertEqual(Array(grids[1][row..<(row + dd)]), Array(grids[0][row..<(row + dd)]), "patch \(p) after block 2")
                XCTAssertEqual(Array(grids[2][row..<(row + dd)]), Array(grids[0][row..<(row + dd)]), "patch \(p) after block 3")
            }
        }
    }
}
