import Foundation
import XCTest

/// `compare --from`: a saved report printed again without running anything.
final class CompareFromTests: XCTestCase {
    /// The shipped report read back prints the tables the 40-minute run printed beside it. Two
    /// differences are allowed for: that run's JSON predates `top1_on` (the header then says "test
    /// images"), and it printed a rounded -0.004 as "-0.0" (now "0.0"; JSON keeps no sign of zero).
    func testTheShippedReportPrintsItsTablesAgain() throws {
        let json = CLI.root.appendingPathComponent("assets/models/compare.json").path
        let md = CLI.root.appendingPathComponent("assets/models/compare.md").path
        let o = try CLI.run(["compare", "--from", json])
        XCTAssertEqual(o.status, 0, o.stderr)
        let want = try String(contentsOfFile: md, encoding: .utf8)
            .replacingOccurrences(of: "top-1 % (10000 test images)", with: "top-1 % (test images)")
            .replacingOccurrences(of: ", -0.0]", with: ", 0.0]")
        XCTAssertEqual(o.stdout.split(separator: "\n"), want.split(separator: "\n"))
    }

    /// --json gives back the object it read (plus `top1_on`), and --plot - draws every series.
    func testJSONRoundTripsAndThePlotDrawsEverySeries() throws {
        let json = CLI.root.appendingPathComponent("assets/models/compare.json").path
        let o = try CLI.run(["compare", "--from", json, "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        var original = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let again = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(again["top1_on"] as? String, "test images")
        original["top1_on"] = "test images"
        // Foundation's JSON reader rounds some doubles' last bit differently from the writer's: p to 12 digits.
        func pRounded(_ o: [String: Any]) -> NSDictionary {
            var o = o
            o["comparisons"] = (o["comparisons"] as? [[String: Any]] ?? []).map { c -> [String: Any] in
                var c = c
                c["p_value"] = String(format: "%.12g", c["p_value"] as? Double ?? .nan)
                return c
            }
            return NSDictionary(dictionary: o)
        }
        XCTAssertEqual(pRounded(again), pRounded(original))

        let plot = try CLI.run(["compare", "--from", json, "--plot", "-"])
        XCTAssertEqual(plot.status, 0, plot.stderr)
        let chart = plot.stdout.components(separatedBy: "top-1 % against images/s").dropFirst().joined()
        for name in ["dense", "Prune and Merge", "ToMe", "EViT", "PiToMe", "DiffRate", "fine-tuned"] {
            XCTAssertTrue(chart.contains(name), "legend names \(name):\n\(chart)")
        }
    }

    func testBadReportsFailCleanly() throws {
        assertCleanFailure(try CLI.run(["compare", "--from", "/nonexistent/compare.json"]), ["cannot read /nonexistent/compare.json"])
        let dir = CLI.temp("compare-from")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{\"rows\": [{\"method\": \"dense\"}], \"comparisons\": []}".utf8).write(to: URL(fileURLWithPath: "\(dir)/a.json"))
        assertCleanFailure(try CLI.run(["compare", "--from", "\(dir)/a.json"]), ["not a compare report", "gflops_per_image"])
        try Data("[1, 2".utf8).write(to: URL(fileURLWithPath: "\(dir)/b.json"))
        assertCleanFailure(try CLI.run(["compare", "--from", "\(dir)/b.json"]), ["not a compare report"])
    }
}
