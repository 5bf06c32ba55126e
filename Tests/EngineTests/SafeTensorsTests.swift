import XCTest
@testable import Engine

/// The safetensors reader and writer: every dtype TokenScope reads, metadata, alignment, and each
/// kind of broken file giving one clear error (never a trap).
final class SafeTensorsTests: XCTestCase {
    /// Builds a file by hand: 8-byte length, the header text as given, then the data bytes.
    func rawFile(header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let n = lengthOverride ?? UInt64(h.count)
        return (0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xff) } + h + data
    }

    func testRoundTripF32AndF16WithMetadata() throws {
        var w = SafeTensorsWriter(metadata: ["config": "{\"a\": 1}", "note": "quote \" and newline \n ok"])
        w.add("x", shape: [2, 3], data: [1, -2, 3.5, 0, 1e-3, 65504])
        w.add("h", shape: [3], data: [0.5, -1.25, 2048], as: .f16)
        w.add("scalar", shape: [], data: [7])
        w.add("empty", shape: [0, 4], data: [])
        let bytes = w.serialize()
        XCTAssertEqual((8 + Int(bytes[0]) + Int(bytes[1]) << 8) % 8, 0, "data section starts 8-aligned")
        let f = try SafeTensorsFile(bytes: bytes)
        XCTAssertEqual(f.metadata["note"], "quote \" and newline \n ok")
        XCTAssertEqual(f.metadata["config"], "{\"a\": 1}")
        XCTAssertEqual(try f.tensor("x"), Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-3, 65504]))
        XCTAssertEqual(f.entries["h"]?.dtype, .F16)
        XCTAssertEqual(try f.floats("h"), [0.5, -1.25, 2048])
        XCTAssertEqual(try f.tensor("scalar"), Tensor(shape: [], data: [7]))
        XCTAssertEqual(try f.tensor("empty").shape, [0, 4])
        XCTAssertEqual(f.names, ["x", "h", "scalar", "empty"])
    }

    func testBF16F16F64ConvertExactly() throws {
        // bf16 0x3FC0 = 1.5, 0xC000 = -2; f16 0x3C00 = 1, 0x7BFF = 65504, 0x0001 = 2^-24 (subnormal)
        var w = SafeTensorsWriter()
        w.addRaw("b", dtype: .BF16, shape: [2], bytes: [0xC0, 0x3F, 0x00, 0xC0])
        w.addRaw("h", dtype: .F16, shape: [3], bytes: [0x00, 0x3C, 0xFF, 0x7B, 0x01, 0x00])
        var d: [UInt8] = []
        for v in [Double.pi, -1e-3] { withUnsafeBytes(of: v.bitPattern.littleEndian) { d += $0 } }
        w.addRaw("d", dtype: .F64, shape: [2], bytes: d)
        let f = try SafeTensorsFile(bytes: w.serialize())
        XCTAssertEqual(try f.floats("b"), [1.5, -2])
        XCTAssertEqual(try f.floats("h"), [1, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        XCTAssertEqual(try f.floats("d"), [Float(Double.pi), Float(-1e-3)])
    }

    func testUnalignedDataReads() throws {
        // A header of odd length puts the F32 data at an odd file offset.
        let header = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        var data: [UInt8] = []
        for v: Float in [1.25, -3] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
        let bytes = rawFile(header: header + " ", data: data)
        XCTAssertEqual(try SafeTensorsFile(bytes: bytes).floats("x"), [1.25, -3])
    }

    func testIntegerDtypeIsRefusedOnRead() throws {
        var w = SafeTensorsWriter()
        w.addRaw("i", dtype: .I32, shape: [1], bytes: [1, 0, 0, 0])
        let f = try SafeTensorsFile(bytes: w.serialize(), source: "ints.safetensors")
        assertThrowsMessage(try f.floats("i"), contains: ["ints.safetensors", "\"i\"", "I32"])
        assertThrowsMessage(try f.floats("nope"), contains: ["no tensor named \"nope\""])
    }

    func testBrokenFiles() {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        let data = [UInt8](repeating: 0, count: 12)
        XCTAssertNoThrow(try SafeTensorsFile(bytes: rawFile(header: ok, data: data)))
        let cases: [(String, [UInt8], [String])] = [
            ("empty file", [], ["shorter than the 8-byte header length"]),
            ("4 bytes", [1, 2, 3, 4], ["shorter than the 8-byte header length"]),
            ("huge header length", rawFile(header: ok, data: data, lengthOverride: 200_000_000), ["exceeds the 100 MB limit"]),
            ("header past end", rawFile(header: ok, data: data, lengthOverride: 5000), ["runs past the end"]),
            ("bad JSON", rawFile(header: "{\"a\": [", data: []), ["not valid JSON"]),
            ("JSON array", rawFile(header: "[1, 2]", data: []), ["not a JSON object"]),
            ("unknown dtype", rawFile(header: #"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), ["unknown dtype \"F33\""]),
            ("no dtype", rawFile(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), ["\"a\" has no dtype"]),
            ("bad shape", rawFile(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), ["bad dimension"]),
            ("bool in shape", rawFile(header: #"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), ["bad dimension"]),
            ("no offsets", rawFile(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]), ["data_offsets"]),
            ("end before begin", rawFile(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]), ["end before begin"]),
            ("size vs shape", rawFile(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: data), ["holds 8 bytes", "needs 12"]),
            ("gap", rawFile(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: data), ["gap", "\"b\""]),
            ("overlap", rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: data), ["overlaps"]),
            ("trailing bytes", rawFile(header: ok, data: data + [0, 0]), ["2 bytes after the last tensor"]),
            ("truncated data", rawFile(header: ok, data: Array(data[0..<10])), ["need 12 bytes", "has 10", "truncated"]),
            ("metadata not strings", rawFile(header: #"{"__metadata__":{"a":1}}"#, data: []), ["__metadata__ value \"a\" is not a string"]),
            ("enormous shape", rawFile(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), ["bad dimension"]),
        ]
        for (what, bytes, fragments) in cases {
            assertThrowsMessage(try SafeTensorsFile(bytes: bytes, source: "t.safetensors"), contains: ["t.safetensors"] + fragments)
            _ = what
        }
    }

    func testMissingFileAndDirectory() {
        assertThrowsMessage(try SafeTensorsFile(path: "/nonexistent/x.safetensors"), contains: ["no such file"])
        assertThrowsMessage(try SafeTensorsFile(path: NSTemporaryDirectory()), contains: ["is a directory"])
    }

    /// Every prefix of a real file must fail cleanly (no trap), and the whole file must load.
    func testEveryTruncationOfARealFileFailsCleanly() throws {
        let bytes = w8()
        XCTAssertNoThrow(try SafeTensorsFile(bytes: bytes))
        for n in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)) {
            XCTAssertThrowsError(try SafeTensorsFile(bytes: Array(bytes[0..<n])))
        }
    }

    func testAtomicWriteToMissingDirectoryFails() {
        let w = SafeTensorsWriter()
        assertThrowsMessage(try w.write(to: "/nonexistent-dir/x.safetensors"), contains: ["cannot write /nonexistent-dir/x.safetensors"])
    }

    private func w8() -> [UInt8] {
        var w = SafeTensorsWriter(metadata: ["k": "v"])
        w.add("a", shape: [3, 5], data: (0..<15).map(Float.init))
        w.add("b", shape: [7], data: (0..<7).map { Float($0) / 3 }, as: .f16)
        return w.serialize()
    }
}
