import XCTest
@testable import Engine

/// Loading timm checkpoints: configuration from metadata or shapes, and the name -> shape table
/// checked both ways with messages that name the tensor, the expected and the found shape.
final class CheckpointTests: XCTestCase {
    /// The vit-s8 fixture rewritten through `edit` (drop, reshape or add tensors, change metadata).
    func variant(_ edit: (inout [String: Tensor], inout [String: String]) -> Void) throws -> String {
        let f = try Fixtures.file("vit-s8.safetensors")
        var tensors: [String: Tensor] = [:]
        for n in f.names { tensors[n] = try f.tensor(n) }
        var meta = f.metadata
        edit(&tensors, &meta)
        var w = SafeTensorsWriter(metadata: meta)
        for n in tensors.keys.sorted() { w.add(n, tensors[n]!) }
        let path = NSTemporaryDirectory() + "tokenscope-variant-\(UUID().uuidString).safetensors"
        try w.write(to: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testConfigFromShapesWhenNoMetadata() throws {
        let path = try variant { _, meta in meta = [:] }
        // Without metadata, heads default to inner width / 64: 48 is not a multiple, so ask for --heads.
        assertThrowsMessage(try ViTModel(path: path), contains: ["cannot tell the number of heads", "--heads"])
        let m = try ViTModel(path: path, heads: 3)
        XCTAssertEqual(m.config, try ViTModel(path: Fixtures.path("vit-s8.safetensors")).config)
        assertThrowsMessage(try ViTModel(path: path, heads: 5), contains: ["--heads 5 does not divide"])
    }

    func testMissingTensorNamed() throws {
        let path = try variant { t, _ in t["blocks.1.mlp.fc2.bias"] = nil }
        assertThrowsMessage(try ViTModel(path: path), contains: ["missing tensor blocks.1.mlp.fc2.bias", "[48]"])
    }

    func testWrongShapeNamedWithExpectedAndFound() throws {
        let path = try variant { t, _ in t["blocks.2.attn.proj.weight"] = Tensor(zeros: [48, 47]) }
        assertThrowsMessage(try ViTModel(path: path), contains: ["blocks.2.attn.proj.weight", "[48, 47]", "expected [48, 48]"])
    }

    func testUnexpectedTensorNamed() throws {
        let path = try variant { t, _ in t["fc_norm.weight"] = Tensor(zeros: [48]) }
        assertThrowsMessage(try ViTModel(path: path), contains: ["unexpected tensor fc_norm.weight"])
    }

    func testMetadataDisagreeingWithTensorsIsCaught() throws {
        let path = try variant { _, meta in meta["config"] = #"{"img": 32, "patch": 8, "dim": 48, "depth": 4, "heads": 3, "classes": 10}"# }
        assertThrowsMessage(try ViTModel(path: path), contains: ["missing tensor blocks.3.norm1.weight"])
    }

    func testNotAViT() throws {
        var w = SafeTensorsWriter()
        w.add("weight", shape: [2], data: [1, 2])
        let path = NSTemporaryDirectory() + "tokenscope-notvit.safetensors"
        try w.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        assertThrowsMessage(try ViTModel(path: path), contains: ["missing tensor patch_embed.proj.weight", "timm"])
    }

    func testF16CheckpointLoadsAndSaveRoundTrips() throws {
        let m = try ViTModel(path: Fixtures.path("vit-s8.safetensors"))
        let path = NSTemporaryDirectory() + "tokenscope-f16.safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try m.save(to: path, as: .f16)
        let h = try ViTModel(path: path)
        XCTAssertEqual(h.config, m.config)
        let a = m.parameter("blocks.0.attn.qkv.weight")!.data, b = h.parameter("blocks.0.attn.qkv.weight")!.data
        XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 1e-3)
    }

    func testFlopsFormula() {
        // DeiT-Tiny: 1.26 G multiply-adds (the published figure), so 2.5 GFLOPs.
        let c = ViTConfig(imageSize: 224, patchSize: 16, dim: 192, depth: 12, heads: 3, numClasses: 1000)
        XCTAssertEqual(c.flopsPerImage / 2e9, 1.25, accuracy: 0.02)
    }
}
