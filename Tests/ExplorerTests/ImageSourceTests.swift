import Foundation
import Synchronization
import XCTest
@testable import Explorer

/// Lazy explorer images: decoded on first use, kept while recent, decoded again after eviction,
/// and a failing file shows black with the reason in its name.
final class ImageSourceTests: XCTestCase {
    func testLazyImagesLoadOnceWhileRecentAndAgainAfterEviction() {
        let loads = Mutex<[Int]>([])
        let images = (0..<(ImageSource.capacity + 4)).map { i in
            ExplorerImage(name: "img\(i)", label: nil, size: 1, channels: 1) {
                loads.withLock { $0.append(i) }
                return ([Float(i)], [UInt8(i), 0, 0])
            }
        }
        XCTAssertTrue(loads.withLock { $0.isEmpty }, "nothing decoded before use")
        XCTAssertEqual(images[0].input, [0])
        XCTAssertEqual(images[0].pixels, [0, 0, 0])
        XCTAssertEqual(loads.withLock { $0 }, [0], "the second access uses the cached value")
        for image in images.dropFirst() { _ = image.input }
        XCTAssertEqual(images[0].input, [0])
        XCTAssertEqual(loads.withLock { $0.filter { $0 == 0 }.count }, 2, "evicted after \(ImageSource.capacity) newer ones, then decoded again")
    }

    func testFailingLoadShowsBlackWithTheReason() {
        struct Broken: Error, CustomStringConvertible { var description: String { "cannot read x.jpg: the JPEG is truncated" } }
        let image = ExplorerImage(name: "x.jpg", label: 2, size: 2, channels: 3) { throw Broken() }
        XCTAssertEqual(image.name, "x.jpg")
        XCTAssertEqual(image.input, [Float](repeating: 0, count: 12))
        XCTAssertEqual(image.pixels, [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(image.name, "x.jpg (unreadable: cannot read x.jpg: the JPEG is truncated)")
        XCTAssertEqual(image.label, 2)
    }
}
