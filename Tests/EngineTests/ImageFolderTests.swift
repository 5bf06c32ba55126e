// Tests for Engine/Data's image folders: torchvision's layout and order, and the decoding stream.
//
// The expected order below was printed by torchvision's own listing logic (find_classes +
// make_dataset of torchvision 0.20, run in Python on the same tree, hidden folders left out):
// classes sorted by code point ("B" before "a"), folders of a class ordered by their whole path
// ("x-y" before "x/deep", since "-" < "/"), files by name, extensions in any case.

import Foundation
import XCTest
@testable import Engine

final class ImageFolderTests: XCTestCase {
    private func tree(_ files: [String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("imagefolder-\(UUID().uuidString)").path
        for f in files {
            let path = root + "/" + f
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data())
        }
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        return root
    }

    func testClassLayoutFollowsTorchvisionOrder() throws {
        let root = try tree(["B/z.png", "B/Y.jpg", "a/b.JPEG", "a/a.jpg", "a/x/c.png", "a/x/deep/d.jpg", "a-b/e.png",
                             "a/notes.txt", "top.jpg", "a/x/_f.webp", "a/x-y/g.png", ".hidden/h.png"])
        let f = try ImageFolder.open(root)
        XCTAssertEqual(f.layout, .classes)
        XCTAssertEqual(f.classNames, ["B", "a", "a-b"])
        XCTAssertEqual(f.files.map(f.relativePath), ["B/Y.jpg", "B/z.png", "a/a.jpg", "a/b.JPEG", "a/x/_f.webp", "a/x/c.png",
                                                     "a/x-y/g.png", "a/x/deep/d.jpg", "a-b/e.png"])
        XCTAssertEqual(f.labels, [0, 0, 1, 1, 1, 1, 1, 1, 2])
        XCTAssertEqual(f.ignoredTopLevel, 1)
        XCTAssertTrue(f.summary.contains("3 classes, 9 images; 1 images directly in the folder ignored"), f.summary)
        XCTAssertEqual(f.prefix(3).files.map(f.relativePath), ["B/Y.jpg", "B/z.png", "a/a.jpg"])
        XCTAssertEqual(f.select([8, 0]).labels, [2, 0])
    }

    func testFlatLayoutAndErrors() throws {
        let flat = try ImageFolder.open(try tree(["b.png", "A.jpeg", "c.txt"]))
        XCTAssertEqual(flat.layout, .flat)
        XCTAssertNil(flat.labels)
        XCTAssertEqual(flat.files.map { ($0 as NSString).lastPathComponent }, ["A.jpeg", "b.png"])
        assertThrowsMessage(try ImageFolder.open(try tree(["notes.txt"])), contains: ["no images"])
        assertThrowsMessage(try ImageFolder.open(try tree(["cat/1.jpg", "dog/readme.md"])), contains: ["dog", "class folder with no images"])
        assertThrowsMessage(try ImageFolder.open("/nonexistent-folder"), contains: ["/nonexistent-folder"])
        assertThrowsMessage(try ImageFolder.open(Fixtures.path("images/rgb8.png")), contains: ["not a folder"])
    }

    /// Decoded on several threads, handed out in listing order; broken files skipped and named, or thrown with strict.
    func testStreamKeepsOrderAndSkipsBrokenFiles() throws {
        let jpeg = Fixtures.path("images/jpeg")
        let names = ["baseline420.jpg", "truncated.jpg", "gray.jpg", "garbage.jpg", "cmyk.jpg", "baseline444.jpg", "progressive420.jpg"]
        let folder = ImageFolder(listing: names.map { jpeg + "/" + $0 })
        let stream = ImageStream(folder, workers: 3, window: 2) { img in img.pixels.prefix(6).map(Float.init) }
        var seen: [String] = []
        while let s = try stream.next() {
            seen.append((s.path as NSString).lastPathComponent)
            XCTAssertEqual(s.input, try ImageReader.read(path: s.path).pixels.prefix(6).map(Float.init))
        }
        XCTAssertEqual(seen, ["baseline420.jpg", "gray.jpg", "cmyk.jpg", "baseline444.jpg", "progressive420.jpg"])
        XCTAssertEqual(stream.skipped.map { ($0.path as NSString).lastPathComponent }, ["truncated.jpg", "garbage.jpg"])
        let note = try XCTUnwrap(stream.skippedSummary)
        XCTAssertTrue(note.hasPrefix("skipped 2 of 7 images") && note.contains("truncated.jpg") && !note.contains("\n"), note)

        let strict = ImageStream(folder, workers: 2, strict: true) { _ in [] }
        XCTAssertNotNil(try strict.next())
        XCTAssertThrowsError(try strict.next()) { XCTAssertTrue("\($0)".contains("truncated.jpg"), "\($0)") }
        XCTAssertNil(try strict.next(), "finished after the error")
    }
}
